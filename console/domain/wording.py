"""The words every channel uses for a version, from one place.

The live page, feeds, CAP and social posts must never disagree about whether something
is preliminary, corrected, confirmed or retracted, so they all take their labels, titles
and post text from here.
"""

from __future__ import annotations

from collections.abc import Callable

from twitter_text import parse_tweet

from console.models import VersionKind

X_LIMIT = 280
ELLIPSIS = "…"
TITLE_MAX = 120


def labels(kind: VersionKind, preliminary: bool) -> list[str]:
    """E.g. ["CORRECTION", "PRELIMINARY"]: what changed first, then whether it is still unconfirmed."""
    if kind is VersionKind.RETRACTION:
        return ["RETRACTED"]
    first = {VersionKind.CORRECTION: ["CORRECTION"], VersionKind.CONFIRMATION: ["CONFIRMED"]}
    return first.get(kind, []) + (["PRELIMINARY"] if preliminary else [])


def prefix(kind: VersionKind, preliminary: bool) -> str:
    return "".join(f"{label}: " for label in labels(kind, preliminary))


def _shorten(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:.") + ELLIPSIS


def entry_title(kind: VersionKind, preliminary: bool, headline: str | None, body: str) -> str:
    """A feed entry's title: the labels, then the headline (or the start of the body)."""
    return prefix(kind, preliminary) + _shorten(headline or body, TITLE_MAX)


def update_url(public_url: str, incident_slug: str, seq: int) -> str:
    return f"{public_url}/incidents/{incident_slug}#update-{seq}"


def history_url(public_url: str, incident_slug: str, seq: int) -> str:
    return f"{public_url}/incidents/{incident_slug}/history#update-{seq}"


def x_weight(text: str) -> int:
    """Weighted length by the twitter-text rules: URLs 23, CJK and emoji 2."""
    return int(parse_tweet(text).weightedLength)


def fit(text: str, link: str, *, measure: Callable[[str], int], limit: int) -> str:
    """`text` then the link, cutting text at a word boundary with an ellipsis if it is too long."""
    whole = f"{text} {link}"
    if measure(whole) <= limit:
        return whole

    def fits(n: int) -> bool:
        return measure(f"{text[:n].rstrip()}{ELLIPSIS} {link}") <= limit

    boundaries = [i for i, char in enumerate(text) if char.isspace()]
    best = _longest(boundaries, fits)
    if best is None:  # one enormous word: cut it anywhere
        best = _longest(list(range(1, len(text))), fits) or 0
    return f"{text[:best].rstrip()}{ELLIPSIS} {link}"


def _longest(cuts: list[int], fits: Callable[[int], bool]) -> int | None:
    """The largest cut that fits, by binary search (shorter cuts never measure longer)."""
    low, high, found = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if fits(cuts[middle]):
            found, low = cuts[middle], middle + 1
        else:
            high = middle - 1
    return found


def post_text(
    kind: VersionKind,
    preliminary: bool,
    headline: str | None,
    body: str,
    reason: str | None,
    link: str,
    *,
    measure: Callable[[str], int] = x_weight,
    limit: int = X_LIMIT,
) -> str:
    """The exact social post for a version. A retraction repeats the reason, not the withdrawn text."""
    if kind is VersionKind.RETRACTION:
        text = f"{prefix(kind, preliminary)}{reason or ''}"
    else:
        lead = f"{headline} — " if headline else ""
        text = f"{prefix(kind, preliminary)}{lead}{' '.join(body.split())}"
    return fit(text, link, measure=measure, limit=limit)
