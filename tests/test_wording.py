"""One vocabulary for every channel, and social posts that always fit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain import wording
from console.models import AlertStatus, VersionKind

LINK = "https://alerts.example.gov/incidents/police-activity-near-riverside-park#update-12"


@pytest.mark.parametrize(
    ("kind", "preliminary", "alert", "expected"),
    [
        (VersionKind.ORIGINAL, True, AlertStatus.ACTUAL, "PRELIMINARY: "),
        (VersionKind.ORIGINAL, False, AlertStatus.ACTUAL, ""),
        (VersionKind.CORRECTION, True, AlertStatus.ACTUAL, "CORRECTION: PRELIMINARY: "),
        (VersionKind.CORRECTION, False, AlertStatus.ACTUAL, "CORRECTION: "),
        (VersionKind.CONFIRMATION, False, AlertStatus.ACTUAL, "CONFIRMED: "),
        (VersionKind.RETRACTION, True, AlertStatus.ACTUAL, "RETRACTED: "),
        (VersionKind.ORIGINAL, True, AlertStatus.EXERCISE, "EXERCISE: PRELIMINARY: "),
        (VersionKind.RETRACTION, False, AlertStatus.TEST, "TEST: RETRACTED: "),
    ],
)
def test_prefixes(kind: VersionKind, preliminary: bool, alert: AlertStatus, expected: str) -> None:
    assert wording.prefix(kind, preliminary, alert) == expected


def test_feed_titles_use_the_headline_or_the_start_of_the_body() -> None:
    assert (
        wording.entry_title(VersionKind.CORRECTION, False, "Road reopened", "…")
        == "CORRECTION: Road reopened"
    )
    long_body = "Officers are responding " * 20
    title = wording.entry_title(VersionKind.ORIGINAL, True, None, long_body)
    assert title.startswith("PRELIMINARY: Officers are responding") and title.endswith("…")
    assert len(title) <= len("PRELIMINARY: ") + wording.TITLE_MAX


def test_a_short_post_is_the_text_then_the_link() -> None:
    post = wording.post_text(VersionKind.ORIGINAL, True, "Avoid 5th Ave", "Police activity.", None, LINK)
    assert post == f"PRELIMINARY: Avoid 5th Ave — Police activity. {LINK}"


def test_a_retraction_post_gives_the_reason_not_the_withdrawn_text() -> None:
    post = wording.post_text(
        VersionKind.RETRACTION, True, "Shelter in place", "Everyone indoors.", "Issued in error", LINK
    )
    assert post == f"RETRACTED: Issued in error {LINK}"


@pytest.mark.parametrize(
    "body",
    [
        "word " * 200,
        "火事です。" * 100,  # CJK counts 2 each
        "🚨🔥 " * 150,  # emoji count 2 each
        "see https://example.org/" + "a" * 300 + " and https://example.com/b " * 20,  # URLs count 23
        "x" * 1000,  # one enormous word
        "Évacuez la zone B immédiatement. " * 20,
    ],
)
def test_long_posts_are_cut_at_a_word_boundary_to_fit_280(body: str) -> None:
    post = wording.post_text(VersionKind.CORRECTION, True, None, body, None, LINK)
    assert wording.x_weight(post) <= 280
    assert post.endswith(f"… {LINK}")
    assert post.startswith("CORRECTION: PRELIMINARY: ")
    kept = post[: -len(f"… {LINK}")]
    if " " in body.strip() and not body.startswith("x"):
        words = " ".join(body.split())  # posts collapse runs of whitespace
        assert words.startswith(kept[len("CORRECTION: PRELIMINARY: ") :])
        assert words[len(kept) - len("CORRECTION: PRELIMINARY: ")] == " ", "cut where a word ends"
    assert wording.x_weight(post) > 250, "does not throw away much more than needed"


@given(st.text(min_size=1, max_size=600))
def test_any_text_fits(body: str) -> None:
    post = wording.post_text(VersionKind.ORIGINAL, True, None, body, None, LINK)
    assert wording.x_weight(post) <= 280
    assert post.endswith(LINK)


def reference_fit(text: str, link: str, limit: int, keep: int) -> str:
    """The same search over the whole, unbounded text: what the bounded one must agree with."""
    whole = f"{text} {link}"
    if wording.x_weight(whole) <= limit:
        return whole
    cuts = [i for i, c in enumerate(text) if c.isspace() and i > keep]

    def fits(n: int) -> bool:
        return wording.x_weight(f"{text[:n].rstrip()}… {link}") <= limit

    best = wording._longest(cuts, fits)
    if best is None:
        best = wording._longest(list(range(keep + 1, len(text))), fits) or keep
    return f"{text[:best].rstrip()}… {link}"


@pytest.mark.parametrize(
    "text",
    [
        "PRELIMINARY: " + "本日午前十時ごろ東京都千代田区で火災が発生しました。" * 30,
        "PRELIMINARY: " + "東京.千代田区で火災が発生" * 60,
        "PRELIMINARY: see http://例え.jp/" + "火" * 400 + " then " + "word " * 100,
        "PRELIMINARY: " + "https://example.org/" + "a" * 900 + " " + "b " * 300,
        "PRELIMINARY: " + "🚨 " * 200,
    ],
)
def test_bounding_the_search_never_changes_the_post(text: str) -> None:
    assert wording.fit(text, LINK, measure=wording.x_weight, limit=280, keep=13) == reference_fit(
        text, LINK, 280, 13
    )


def test_a_long_cjk_body_is_measured_quickly() -> None:
    # twitter-text's URL search is quadratic on CJK runs; the body must not be measured whole.
    measured: list[int] = []

    def measure(text: str) -> int:
        measured.append(len(text))
        return wording.x_weight(text)

    wording.fit(
        "本日午前十時ごろ東京都千代田区で火災が発生しました。" * 200, LINK, measure=measure, limit=280
    )
    assert max(measured) < 700
