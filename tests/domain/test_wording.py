"""One vocabulary for every channel, and social posts that fit, every word published."""

from __future__ import annotations

import pytest
import regex
from hypothesis import assume, given
from hypothesis import strategies as st

from console.domain import wording
from console.domain.post_runs import TextRules
from console.models import AlertStatus, VersionKind
from tests.social.conftest import assert_whole

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
    posts = wording.post_run(VersionKind.ORIGINAL, True, "Avoid 5th Ave", "Police activity.", None, LINK)
    assert posts == [f"PRELIMINARY: Avoid 5th Ave — Police activity. {LINK}"]


def test_a_retraction_post_gives_the_reason_not_the_withdrawn_text() -> None:
    posts = wording.post_run(
        VersionKind.RETRACTION, True, "Shelter in place", "Everyone indoors.", "Issued in error", LINK
    )
    assert posts == [f"RETRACTED: Issued in error {LINK}"]


def test_a_correction_post_ends_with_its_reason_and_a_confirmation_post_does_not() -> None:
    posts = wording.post_run(
        VersionKind.CORRECTION, True, "Avoid Oak St", "Crews on scene.", "Wrong street", LINK
    )
    assert posts == [f"CORRECTION: PRELIMINARY: Avoid Oak St — Crews on scene. (Why: Wrong street) {LINK}"]
    long_reason = "The first report named the wrong street; " * 12
    posts = wording.post_run(VersionKind.CORRECTION, True, None, "Crews on scene.", long_reason, LINK)
    assert len(posts) > 1
    assert_whole(posts, "CORRECTION: PRELIMINARY: ", f"Crews on scene. (Why: {long_reason})", LINK)
    posts = wording.post_run(
        VersionKind.CONFIRMATION, False, None, "Crews on scene.", "Information confirmed", LINK
    )
    assert posts == [f"CONFIRMED: Crews on scene. {LINK}"]


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
def test_long_posts_become_a_numbered_run_of_posts_that_fit_280(body: str) -> None:
    posts = wording.post_run(VersionKind.CORRECTION, True, "Evacuate", body, None, LINK)
    assert len(posts) > 1
    assert all(wording.x_weight(post) <= 280 for post in posts)
    assert_whole(posts, "CORRECTION: PRELIMINARY: ", f"Evacuate — {body}", LINK)


def test_the_mastodon_rules_give_the_instances_limit() -> None:
    body = "Avoid the area. " * 60  # 960 characters
    rules = TextRules(wording.mastodon_weight, 400)
    posts = wording.post_run(VersionKind.ORIGINAL, False, None, body, None, LINK, rules=rules)
    assert len(posts) == 3 and all(wording.mastodon_weight(post) <= 400 for post in posts)
    assert_whole(posts, "", body, LINK)


@given(st.text(min_size=1, max_size=600))
def test_any_text_is_published_whole_in_posts_that_fit(body: str) -> None:
    assume(body.split())  # a body is never blank
    posts = wording.post_run(VersionKind.ORIGINAL, True, None, body, None, LINK)
    assert_whole(posts, "PRELIMINARY: ", body, LINK)
    # Over only where one grapheme cluster alone outweighs a post (hundreds of marks on one letter).
    for post in posts:
        if wording.x_weight(post) > 280:
            assert any(wording.x_weight(cluster) > 200 for cluster in regex.findall(r"\X", post)), post
