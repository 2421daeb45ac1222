"""How long an SMS is, and how an alert's text is cut into SMS messages.

A message in the GSM-7 alphabet holds 160 characters alone, 153 per part once concatenated
(the user data header takes the rest); the extension characters (^{}\\[~]|€ and form feed)
take two. Any other character makes the whole message UCS-2: 70 alone, 67 per part,
counted in UTF-16 code units (an emoji takes two). Pure: no I/O, no translation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from console.models import VersionKind

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def units(text: str) -> int:
    """Septets for GSM-7 text, UTF-16 code units otherwise."""
    if is_gsm7(text):
        return sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    count: int


def segments(text: str) -> Segments:
    """How many parts the network sends `text` as (0 for the empty text)."""
    gsm = is_gsm7(text)
    size = units(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    count = 0 if size == 0 else 1 if size <= single else -(-size // part)
    return Segments("GSM-7" if gsm else "UCS-2", size, count)


@dataclass(frozen=True)
class _Tally:
    """A text's size both ways, so joining two texts adds up without measuring again (a long
    word cut a character at a time stays linear)."""

    utf16: int
    septets: int | None  # None: not all GSM-7

    @classmethod
    def of(cls, text: str) -> _Tally:
        septets = sum(2 if char in GSM7_EXTENSION else 1 for char in text) if is_gsm7(text) else None
        return cls(len(text.encode("utf-16-le")) // 2, septets)

    def __add__(self, other: _Tally) -> _Tally:
        both = None if self.septets is None or other.septets is None else self.septets + other.septets
        return _Tally(self.utf16 + other.utf16, both)

    @property
    def units(self) -> int:
        return self.utf16 if self.septets is None else self.septets


_EMPTY, _SPACE = _Tally(0, 0), _Tally(1, 1)


def _cut_word(word: str, limit: int) -> list[str]:
    """A word longer than a whole message (a long URL, say) is the only thing ever cut."""
    pieces, current, size = [], "", _EMPTY
    for char in word:
        grown = size + _Tally.of(char)
        if current and grown.units > limit:
            pieces.append(current)
            current, grown = "", _Tally.of(char)
        current, size = current + char, grown
    return [*pieces, current] if current else pieces


def split(text: str, *, limit: int) -> list[str]:
    """`text` as messages of at most `limit` units each, cut between words (whitespace
    runs become one space)."""
    messages: list[str] = []
    current, size = "", _EMPTY
    for word in text.split():
        word_size = _Tally.of(word)
        candidate = size + _SPACE + word_size if current else word_size
        if candidate.units <= limit:
            current, size = f"{current} {word}" if current else word, candidate
            continue
        if current:
            messages.append(current)
        current, size = "", _EMPTY
        if word_size.units <= limit:
            current, size = word, word_size
        else:
            *whole, current = _cut_word(word, limit)
            messages.extend(whole)
            size = _Tally.of(current)
    if current:
        messages.append(current)
    return messages


def compose(head: str, body: str, link: str, footer: str) -> list[str]:
    """An alert as SMS messages: `head` (labels, title) first, then the body, the link last,
    then `footer` ("Reply STOP to stop"). One message when the whole fits in one; else
    messages that each fit in one part, so no carrier concatenation is relied upon, the
    link and the footer in the last one, never cut (a link is unusable cut)."""
    whole = " ".join(part for part in (head, body, link, footer) if part)
    single = GSM7_SINGLE if is_gsm7(whole) else UCS2_SINGLE
    if units(whole) <= single:
        return [whole]
    tail = " ".join(part for part in (link, footer) if part)
    messages = split(" ".join(part for part in (head, body) if part), limit=single)
    if messages and units(f"{messages[-1]} {tail}") <= single:
        messages[-1] = f"{messages[-1]} {tail}"
    else:
        messages.append(tail)
    return messages


@dataclass(frozen=True)
class Phrases:
    """The words an SMS alert adds, in the subscriber's language (`console.alerts.sms`
    translates them; the compose preview shows them in English)."""

    retracted: str = "RETRACTED: this update was withdrawn."
    what_changed: str = "What changed:"
    why: str = "Why:"
    translation_pending: str = "Translation being updated."
    stop: str = "Reply STOP to stop."


def alert_messages(
    *,
    labels: Sequence[str],
    title: str,
    headline: str | None,
    body: str,
    kind: VersionKind,
    reason: str | None,
    translation_pending: bool,
    link: str,
    phrases: Phrases = Phrases(),
) -> list[str]:
    """An alert as SMS messages: labels (already in the subscriber's language) and the
    incident title first, a retraction saying so before anything; a correction's reason
    briefly after the text; the link and the STOP line last."""
    head = "".join(f"{name}: " for name in labels) + f"{title}:"
    if kind is VersionKind.RETRACTION:
        head = f"{phrases.retracted} {head}"
    parts = [headline or "", body]
    if kind is VersionKind.CORRECTION and reason:
        parts.append(f"{phrases.what_changed} {reason}")
    if kind is VersionKind.RETRACTION and reason:
        parts.append(f"{phrases.why} {reason}")
    if translation_pending:
        parts.append(phrases.translation_pending)
    return compose(head, " ".join(part for part in parts if part), link, phrases.stop)
