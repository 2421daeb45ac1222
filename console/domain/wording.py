"""The words every channel uses for a version, from one place.

The live page, feeds, CAP and social posts must never disagree about whether something
is preliminary, corrected, confirmed or retracted, so they all take their labels, titles
and post text from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from twitter_text import extract_urls_with_indices, parse_tweet

from console.models import AlertStatus, VersionKind

X_LIMIT = 280
# Mastodon's defaults, used until (or unless) the instance's configuration says otherwise.
MASTODON_LIMIT = 500
MASTODON_URL_WEIGHT = 23
ELLIPSIS = "…"
TITLE_MAX = 120


def labels(kind: VersionKind, preliminary: bool, alert_status: AlertStatus = AlertStatus.ACTUAL) -> list[str]:
    """E.g. ["CORRECTION", "PRELIMINARY"]: what changed first, then whether it is still unconfirmed.

    An exercise or test incident is marked as such before anything else, on every channel.
    """
    drill = [] if alert_status is AlertStatus.ACTUAL else [alert_status.value.upper()]
    if kind is VersionKind.RETRACTION:
        return [*drill, "RETRACTED"]
    first = {VersionKind.CORRECTION: ["CORRECTION"], VersionKind.CONFIRMATION: ["CONFIRMED"]}
    return drill + first.get(kind, []) + (["PRELIMINARY"] if preliminary else [])


def prefix(kind: VersionKind, preliminary: bool, alert_status: AlertStatus = AlertStatus.ACTUAL) -> str:
    return "".join(f"{label}: " for label in labels(kind, preliminary, alert_status))


def _shorten(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars // 2 else cut).rstrip(" ,;:.") + ELLIPSIS


def entry_title(
    kind: VersionKind,
    preliminary: bool,
    headline: str | None,
    body: str,
    alert_status: AlertStatus = AlertStatus.ACTUAL,
) -> str:
    """A feed entry's title: the labels, then the headline (or the start of the body)."""
    return prefix(kind, preliminary, alert_status) + _shorten(headline or body, TITLE_MAX)


def update_url(public_url: str, incident_slug: str, seq: int) -> str:
    return f"{public_url}/incidents/{incident_slug}#update-{seq}"


def history_url(public_url: str, incident_slug: str, seq: int) -> str:
    return f"{public_url}/incidents/{incident_slug}/history#update-{seq}"


def x_weight(text: str) -> int:
    """Weighted length by the twitter-text rules: URLs 23, CJK and emoji 2."""
    return int(parse_tweet(text).weightedLength)


def mastodon_weight(text: str, *, url_weight: int = MASTODON_URL_WEIGHT) -> int:
    """Length as Mastodon counts it: each http(s) URL counts `url_weight` whatever its length,
    everything else one per code point. (Mastodon counts grapheme clusters, of which a text never
    has more than code points, so a post measured here never runs over the instance's limit.)"""
    urls = extract_urls_with_indices(text, extract_urls_without_protocol=False)
    url_chars: int = sum(url["indices"][1] - url["indices"][0] for url in urls)
    return len(text) - url_chars + url_weight * len(urls)


_TOKENS = re.compile(r"\s+|\S+")


def _measurable_end(text: str, limit: int) -> int:
    """An index past which no prefix of `text` can fit within `limit`.

    Every character weighs at least 1 unless it is part of a URL (23 whatever its length).
    twitter-text's URL search is quadratic on long runs of CJK (valid in internationalised
    domains), so only a prefix this long is ever measured. Counted as at least 1: whitespace,
    tokens with no "." or ":", and CJK characters in tokens without "://" (a URL without a
    scheme has an ASCII domain). The bound is doubled to stay clear of any rule we misjudge.
    """
    lower = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if "://" in token:
            continue
        every_char = token.isspace() or ("." not in token and ":" not in token)
        for offset, char in enumerate(token):
            if every_char or char >= "\u2e80":
                lower += 1
                if lower > 2 * limit:
                    return match.start() + offset + 1
    return len(text)


def fit(text: str, link: str, *, measure: Callable[[str], int], limit: int, keep: int = 0) -> str:
    """`text` then the link; if too long, cut the text after its first `keep` characters (the
    labels), at a word boundary where there is one (scripts such as CJK have none), with `…`."""
    end = _measurable_end(text, limit)
    if end == len(text) and measure(f"{text} {link}") <= limit:
        return f"{text} {link}"

    def fits(n: int) -> bool:
        return measure(f"{text[:n].rstrip()}{ELLIPSIS} {link}") <= limit

    boundaries = [i for i, char in enumerate(text[:end]) if char.isspace() and i > keep]
    best = _longest(boundaries, fits)
    if best is None:
        best = _longest(list(range(keep + 1, end)), fits) or keep
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
    alert_status: AlertStatus = AlertStatus.ACTUAL,
    measure: Callable[[str], int] = x_weight,
    limit: int = X_LIMIT,
) -> str:
    """The exact social post for a version. A retraction repeats the reason, not the withdrawn text."""
    marks = prefix(kind, preliminary, alert_status)
    if kind is VersionKind.RETRACTION:
        text = f"{marks}{reason or ''}"
    else:
        lead = f"{headline} — " if headline else ""
        text = f"{marks}{lead}{' '.join(body.split())}"
    return fit(text, link, measure=measure, limit=limit, keep=len(marks))
