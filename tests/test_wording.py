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
