"""A text over a network's limit as a numbered run of posts: where the cuts fall, nothing lost,
no grapheme cluster broken, `over` only where nothing else is possible, and the work done
proportional to the text."""

from __future__ import annotations

import pytest
import regex
from hypothesis import assume, given
from hypothesis import strategies as st
from twitter_text import parse_tweet

from console.domain import post_runs, wording
from console.domain.post_runs import TextRules
from tests.social.conftest import assert_whole, pieces_of

LINK = "https://alerts.example.gov/incidents/evacuation-north-of-the-river#update-3"
LABEL = "PRELIMINARY: "
X = wording.X_RULES

EVACUATION = (
    "Evacuation order for all residents north of the river between Oak St and Pine St. "
    "Leave now by Route 9 northbound; Route 12 is closed. Shelter is open at Lincoln High "
    "School, 310 Birch St, with water, food and space for pets. Do not use the Main St bridge: "
    "it is closed for inspection. If you need transport call 311."
)


def x_run(text: str, label: str = LABEL) -> list[str]:
    posts = post_runs.split(label, text, LINK, X)
    for post in posts:
        assert parse_tweet(post).weightedLength <= 280, post
    assert_whole(posts, label, text, LINK)
    return posts


def test_the_evacuation_update_goes_out_whole_in_two_posts() -> None:
    """The text that became "… Do not use…" plus a link."""
    assert wording.x_weight(f"{LABEL}{EVACUATION} {LINK}") > 280
    before, after = EVACUATION.split(" Do not use")
    assert x_run(EVACUATION) == [f"{LABEL}{before} (1/2)", f"Do not use{after} (2/2) {LINK}"]


def test_a_text_that_fits_is_one_post_without_a_number() -> None:
    assert post_runs.split(LABEL, "Avoid Elm St.", LINK, X) == [f"{LABEL}Avoid Elm St. {LINK}"]


def test_posts_end_at_sentence_ends_when_that_keeps_them_at_least_half_full() -> None:
    sentences = [f"Sentence number {n} tells residents what to do about the water main." for n in range(12)]
    posts = x_run(" ".join(sentences))
    for piece in pieces_of(posts, LABEL, LINK)[:-1]:
        assert piece.endswith("water main."), piece


def test_without_sentence_ends_posts_end_between_words() -> None:
    text = " ".join(f"word{n}" for n in range(150))
    posts = x_run(text)
    words = set(text.split())
    for piece in pieces_of(posts, LABEL, LINK):
        assert set(piece.split()) <= words, "no word cut"
        assert parse_tweet(piece).weightedLength > 200 or piece == pieces_of(posts, LABEL, LINK)[-1]


def test_a_sentence_end_that_would_leave_a_post_less_than_half_full_is_passed_over() -> None:
    text = "Go now. " + "keep walking north along the river path " * 20
    first = x_run(text)[0]
    assert not first.endswith("Go now. (1/3)") and parse_tweet(first).weightedLength > 200


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("Call " + "9" * 300 + " now.", "a 300-character word"),
        ("火事です" * 120, "CJK without punctuation"),
        ("ภาษาไทยไม่มีช่องว่างระหว่างคำ" * 20, "Thai without spaces"),
        ("👨‍👩‍👧‍👦🏳️‍🌈🇺🇦" * 60, "emoji ZWJ sequences and flags, no spaces"),
        ("한국어" * 200, "Hangul syllables"),
        ("e\u0301" * 400, "letters with combining accents"),
    ],
)
def test_a_word_no_post_can_hold_is_cut_between_grapheme_clusters_and_fills_its_posts(
    text: str, what: str
) -> None:
    posts = x_run(text)  # checks no cluster is cut and nothing is lost
    assert len(posts) > 1, what
    for post in posts[:-1]:
        assert parse_tweet(post).weightedLength >= 260, f"{what}: filled up: {post!r}"


def test_cjk_posts_end_after_a_full_stop() -> None:
    text = "東京都新宿区で火災が発生しました。付近の住民は直ちに避難してください。" * 10
    posts = x_run(text)
    for piece in pieces_of(posts, LABEL, LINK):
        assert piece.endswith("。"), piece


@pytest.mark.parametrize(
    "text",
    [
        "يجب على السكان في الحي الشمالي الإخلاء فوراً عبر الطريق رقم تسعة. " * 10,
        "על התושבים בשכונה הצפונית להתפנות מיד דרך כביש תשע. " * 12,
        "\u200fتحذير: " + "ابتعدوا عن المنطقة " * 40,
    ],
    ids=["arabic", "hebrew", "rtl-mark"],
)
def test_right_to_left_text_is_split_between_words(text: str) -> None:
    posts = x_run(text)
    assert len(posts) > 1
    words = set(text.split())
    for piece in pieces_of(posts, LABEL, LINK):
        assert set(piece.split()) <= words


def test_a_link_longer_than_the_limit_stays_whole_and_counts_23() -> None:
    long_link = "https://maps.example.org/evacuation/" + "zone-north/" * 40 + "route-9"
    assert len(long_link) > 400
    text = "Leave by the marked route. " * 8 + f"Map: {long_link} " + "Shelters are open. " * 8
    posts = x_run(text)
    [holding] = [post for post in posts if long_link in post]
    assert parse_tweet(holding).weightedLength <= 280


def test_one_grapheme_cluster_heavier_than_a_post_goes_alone_and_is_reported_over() -> None:
    zalgo = "a" + "\u0301" * 300  # one cluster, weight 300 by twitter-text
    text = f"Before it. {zalgo} After it."
    posts = post_runs.split(LABEL, text, LINK, X)
    assert_whole(posts, LABEL, text, LINK)
    run = post_runs.measured(posts, X)
    assert run.over == tuple(zalgo in post for post in posts), "only the post holding it is over"
    assert sum(run.over) == 1


def test_a_first_or_last_word_that_fits_a_post_only_without_the_labels_or_link_is_cut_not_over() -> None:
    label = "EXERCISE: CORRECTION: PRELIMINARY: "  # weighs 35
    long_word = "9" * 255  # fits a post of its own (255 + " (1/2)"), but not with the labels or the link
    for text in (f"{long_word} then the rest of the update.", f"The update ends with {long_word}"):
        posts = x_run(text, label=label)
        assert not any(post_runs.measured(posts, X).over), posts


def test_runs_of_ten_or_more_posts_reserve_room_for_wider_numbers() -> None:
    text = "Residents should stay indoors and keep windows closed. " * 80
    posts = x_run(text)
    assert len(posts) >= 10 and posts[9].endswith(f"(10/{len(posts)})")


def test_the_label_opens_only_the_first_post_and_the_link_ends_only_the_last() -> None:
    posts = x_run(EVACUATION * 3, label="EXERCISE: CORRECTION: ")
    assert [post.startswith("EXERCISE: CORRECTION: ") for post in posts] == [True] + [False] * (
        len(posts) - 1
    )
    assert [post.endswith(LINK) for post in posts] == [False] * (len(posts) - 1) + [True]
    assert all(post.count(LINK) == (n == len(posts) - 1) for n, post in enumerate(posts))


ADVERSARIAL_5000 = {
    "words": ("Avoid the area near 5th and Elm; detour via Main. " * 100)[:5000],
    "cjk": ("東京都新宿区で火災が発生しました。付近の住民は直ちに避難してください。" * 150)[:5000],
    "one word": "x" * 5000,
    "emoji": ("🚨🔥👨‍👩‍👧‍👦 " * 500)[:5000],
    "links": ("See https://example.org/" + "p/" * 120 + " now. ") * 18,
    "accents": ("e\u0301" * 2500),
    "no sentence ends": ("word " * 1000)[:5000],
}


@pytest.mark.parametrize("name", ADVERSARIAL_5000)
def test_splitting_measures_the_text_a_few_times_at_most_whatever_it_holds(name: str) -> None:
    """The work is linear: the splitter hands the network's count a few times the text's
    length in all, in pieces about a post long (timings: bench/social_runs)."""
    text = ADVERSARIAL_5000[name]
    measured: list[int] = []

    def counting(post: str) -> int:
        measured.append(len(post))
        return wording.x_weight(post)

    posts = post_runs.split(LABEL, text, LINK, TextRules(counting, 280))
    assert_whole(posts, LABEL, text, LINK)
    longest_post = max(len(post) for post in posts)
    assert sum(measured) <= 2 * len(text), (sum(measured), len(text))
    assert max(measured) <= max(longest_post, 2 * 280), "never a measurement of much more than a post"
    assert len(measured) <= 4 * len(posts) + 20


def test_mastodon_counts_by_code_point_so_a_cluster_never_breaks_its_limit() -> None:
    text = "👩‍🚒 " * 300
    rules = TextRules(wording.mastodon_weight, 500)
    posts = post_runs.split("", text, LINK, rules)
    assert_whole(posts, "", text, LINK)
    assert all(wording.mastodon_weight(post) <= 500 for post in posts)
    assert all(len(regex.findall(r"\X", post)) < 500 for post in posts)


@given(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=800),
    st.sampled_from(["", "PRELIMINARY: ", "EXERCISE: CORRECTION: PRELIMINARY: "]),
    st.integers(min_value=80, max_value=600),
)
def test_any_text_label_and_limit_give_posts_within_it_with_every_character(
    text: str, label: str, limit: int
) -> None:
    assume(text.split())  # an update's body or a retraction's reason is never blank
    rules = TextRules(wording.mastodon_weight, limit)
    posts = post_runs.split(label, text, LINK, rules)
    assert_whole(posts, label, text, LINK)
    for post, over in zip(posts, post_runs.measured(posts, rules).over, strict=True):
        if over:  # only a grapheme cluster that no post can hold
            room = limit - wording.mastodon_weight(f"{label} (99/99) {LINK}")
            assert any(len(cluster) > room for cluster in regex.findall(r"\X", post)), post
