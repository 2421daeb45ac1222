"""The words every channel uses for a version, from one place.

The live page, feeds, CAP and social posts must never disagree about whether something
is preliminary, corrected, confirmed or retracted, so they all take their labels, titles
and post text from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from console.domain import post_length, post_runs
from console.domain.post_runs import TextRules
from console.models import AlertStatus, UpdateVersion, VersionKind

X_LIMIT = 280
# Mastodon's defaults, used until (or unless) the instance's configuration says otherwise.
MASTODON_LIMIT = 500
MASTODON_URL_WEIGHT = 23
ELLIPSIS = "…"
TITLE_MAX = 120


@dataclass(frozen=True)
class VersionWords:
    """What a published version says, as every reader's view of it carries it: the labels and
    titles here are worded from these."""

    kind: VersionKind
    headline: str | None
    body: str
    preliminary: bool


def words_of(version: UpdateVersion) -> dict[str, Any]:
    """The `VersionWords` fields of `version`, by name (each is the version's own column)."""
    return {field.name: getattr(version, field.name) for field in fields(VersionWords)}


KIND_LABELS = {
    VersionKind.CORRECTION: "CORRECTION",
    VersionKind.CONFIRMATION: "CONFIRMED",
    VersionKind.RESOLUTION: "RESOLVED",
    VersionKind.REOPENING: "REOPENED",
}
# The labels of an exercise or test incident: first on every channel, before anything else.
DRILL_LABELS = frozenset(status.value.upper() for status in AlertStatus if status is not AlertStatus.ACTUAL)
# An update that is the incident's all-clear or reopening stays one through its corrections.
LASTING_KINDS = frozenset({VersionKind.RESOLUTION, VersionKind.REOPENING})


def labels(
    kind: VersionKind,
    preliminary: bool,
    alert_status: AlertStatus = AlertStatus.ACTUAL,
    *,
    first_kind: VersionKind = VersionKind.ORIGINAL,
) -> list[str]:
    """E.g. ["CORRECTION", "PRELIMINARY"]: what changed first, then whether it is still unconfirmed.

    An exercise or test incident is marked as such before anything else, on every channel. A
    correction or confirmation of an all-clear (`first_kind` RESOLUTION) or of a reopening is
    still one, as CAP keeps it an AllClear: ["RESOLVED", "CORRECTION"]. A retraction is not.
    """
    drill = [] if alert_status is AlertStatus.ACTUAL else [alert_status.value.upper()]
    if kind is VersionKind.RETRACTION:
        return [*drill, "RETRACTED"]
    lasting = [KIND_LABELS[first_kind]] if first_kind in LASTING_KINDS and kind is not first_kind else []
    return (
        drill
        + lasting
        + ([KIND_LABELS[kind]] if kind in KIND_LABELS else [])
        + (["PRELIMINARY"] if preliminary else [])
    )


# How a version changed its update: its card says so in a notice ("Corrected 14:02 — why").
CHANGE_LABELS = frozenset({"CORRECTION", "CONFIRMED"})


def standing_labels(
    kind: VersionKind,
    preliminary: bool,
    alert_status: AlertStatus = AlertStatus.ACTUAL,
    *,
    first_kind: VersionKind = VersionKind.ORIGINAL,
) -> list[str]:
    """What an update is now (EXERCISE, RESOLVED, PRELIMINARY), not how it last changed: the
    badges of its card, and what a pinned "What to do now" carries on every channel."""
    shown = labels(kind, preliminary, alert_status, first_kind=first_kind)
    return [label for label in shown if label not in CHANGE_LABELS]


def prefix(
    kind: VersionKind,
    preliminary: bool,
    alert_status: AlertStatus = AlertStatus.ACTUAL,
    *,
    first_kind: VersionKind = VersionKind.ORIGINAL,
) -> str:
    return opening(labels(kind, preliminary, alert_status, first_kind=first_kind))


SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")


def sentence(text: str) -> str:
    """`text` ending as a sentence: a full stop added unless it has its own (a headline or a
    reason runs on into what follows it in an SMS or a notification)."""
    text = text.rstrip()
    return text if not text or text.endswith(SENTENCE_ENDS) else f"{text}."


def headline_and_body(headline: str | None, body: str) -> str:
    """A headline and its text as one run of text (an SMS, a notification)."""
    return f"{sentence(headline)} {body}" if headline else body


def opening(shown: Iterable[str]) -> str:
    """`LABEL: ` for each of `shown`, as they open a title or a post."""
    return "".join(f"{label}: " for label in shown)


def shorten(text: str, max_chars: int) -> str:
    """`text`, single-spaced, in at most `max_chars` characters: whole when it fits, else cut
    between words (mid-word only when a word fills most of it) with "…"."""
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
    *,
    first_kind: VersionKind = VersionKind.ORIGINAL,
) -> str:
    """A feed entry's title: the labels, then the headline (or the start of the body)."""
    return prefix(kind, preliminary, alert_status, first_kind=first_kind) + title_text(headline, body)


def title_text(headline: str | None, body: str) -> str:
    """What follows an entry title's labels: the headline, or the start of the body."""
    return shorten(headline or body, TITLE_MAX)


def update_url(public_url: str, incident_slug: str, seq: int, lang: str | None = None) -> str:
    """The update on its incident's page; with `lang`, the page in that language (a link a
    resident opens from an alert, in a browser that may not ask for it)."""
    query = f"?lang={lang}" if lang else ""
    return f"{public_url}/incidents/{incident_slug}{query}#update-{seq}"


def stable_update_url(public_url: str, incident_slug: str, seq: int, lang: str | None = None) -> str:
    """The link an alert gives to an update: the server sends the reader on to the update on its
    incident's page while the page still lists it, else to it in the incident's history (an
    anchor the page no longer has would leave a reader without JavaScript at the top of it)."""
    query = f"?lang={lang}" if lang else ""
    return f"{public_url}/incidents/{incident_slug}/updates/{seq}{query}"


def version_anchor(seq: int, version: int) -> str:
    """The id of one version on the history page."""
    return f"update-{seq}-v{version}"


def history_url(
    public_url: str,
    incident_slug: str,
    seq: int | None = None,
    version: int | None = None,
    *,
    lang: str | None = None,
) -> str:
    """The incident's history page; at an update's versions, or at one of them; with `lang`,
    asked for in that language."""
    query = f"?lang={lang}" if lang else ""
    page = f"{public_url}/incidents/{incident_slug}/history{query}"
    if seq is None:
        return page
    return f"{page}#{version_anchor(seq, version) if version is not None else f'update-{seq}'}"


def x_weight(text: str) -> int:
    """Weighted length by the twitter-text rules: URLs 23, CJK and emoji 2 (`post_length`:
    the same count in linear time, as twitter-text's own takes seconds on dotted text)."""
    return post_length.x_weight(text)


def mastodon_weight(text: str, *, url_weight: int = MASTODON_URL_WEIGHT) -> int:
    """Length as Mastodon counts it: each http(s) URL counts `url_weight` whatever its length,
    everything else one per code point. (Mastodon counts grapheme clusters, of which a text never
    has more than code points, so a post measured here never runs over the instance's limit.)"""
    return post_length.mastodon_weight(text, url_weight=url_weight)


X_RULES = TextRules(x_weight, X_LIMIT)
# Until (or unless) the instance's own configuration is known.
MASTODON_DEFAULT_RULES = TextRules(mastodon_weight, MASTODON_LIMIT)


def post_run(
    kind: VersionKind,
    preliminary: bool,
    headline: str | None,
    body: str,
    reason: str | None,
    link: str,
    *,
    alert_status: AlertStatus = AlertStatus.ACTUAL,
    first_kind: VersionKind = VersionKind.ORIGINAL,
    rules: TextRules | None = None,
) -> list[str]:
    """The exact social posts for a version under `rules` (X's by default): one post, or a
    numbered run when the text is over the limit (see `post_runs`); never shortened. The
    labels open the first post, the link closes the last. A retraction repeats the reason,
    not the withdrawn text; a correction ends with its reason, as the live page shows it under
    the text."""
    marks = prefix(kind, preliminary, alert_status, first_kind=first_kind)
    if kind is VersionKind.RETRACTION:
        text = reason or ""
    else:
        lead = f"{headline} — " if headline else ""
        text = f"{lead}{body}{why(reason) if kind is VersionKind.CORRECTION else ''}"
    return post_runs.split(marks, text, link, rules or X_RULES)


def why(reason: str | None) -> str:
    """A reason as a post carries it after the text: ` (Why: …)`, or nothing."""
    return f" (Why: {reason})" if reason else ""
