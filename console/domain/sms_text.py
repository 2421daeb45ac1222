"""How long an SMS is, and how an alert's text is cut into SMS messages.

A message in the GSM-7 alphabet holds 160 characters alone, 153 per part once concatenated
(the user data header takes the rest); the extension characters (^{}\\[~]|€ and form feed)
take two. Any other character makes the whole message UCS-2: 70 alone, 67 per part,
counted in UTF-16 code units (an emoji takes two). Pure: no I/O, no translation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.domain import wording
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


def fits(text: str) -> bool:
    """Whether `text` goes as one SMS (measured as the network sends it: its own encoding)."""
    return segments(text).count <= 1


def numbering(number: int, total: int) -> str:
    """What opens message `number` of an alert sent as `total` (after a drill's label):
    phones often show an alert's messages out of order."""
    return f"({number}/{total}) "


def compose(head: str, body: str, link: str, footer: str, *, every: str = "") -> list[str]:
    """An alert as SMS messages: `every` (a drill's "EXERCISE: "), `head` (labels, title),
    the body, the link, then `footer` ("Reply STOP to stop"). One message when the whole fits
    in one; else messages that each fit in one part, so no carrier concatenation is relied
    upon, each starting with `every` (read alone, none of a drill's passes for a real alert),
    then its number ("(2/3) ": phones often show them out of order), counted in its length.
    The link and the footer are never cut (a link is unusable cut) and go together at the end
    of the last message when that still fits, else in a message of their own; when even they
    do not fit one SMS (a long PUBLIC_URL and slug), each goes on its own the same way."""
    whole = every + " ".join(part for part in (head, body, link, footer) if part)
    if fits(whole):
        return [whole]
    digits = 1
    while True:
        # Room for the widest number of this many digits ("(9/9) "); more when there are more.
        widest = 10**digits - 1
        messages = _messages(head, body, link, footer, every + numbering(widest, widest))
        if len(str(len(messages))) <= digits:
            break
        digits += 1
    if len(messages) == 1:  # whitespace runs made it longer than the one message it is
        return [every + messages[0]]
    total = len(messages)
    return [every + numbering(number, total) + text for number, text in enumerate(messages, 1)]


def _messages(head: str, body: str, link: str, footer: str, opening: str) -> list[str]:
    """The messages' text, each fitting in one SMS after `opening` (the drill label and the
    room its number takes), without it."""
    whole = opening + " ".join(part for part in (head, body, link, footer) if part)
    single = GSM7_SINGLE if is_gsm7(whole) else UCS2_SINGLE
    messages = split(" ".join(part for part in (head, body) if part), limit=single - units(opening))
    tail = " ".join(part for part in (link, footer) if part)
    together = [tail] if fits(opening + tail) else [link, footer]
    for part in (part for part in together if part):
        if messages and fits(f"{opening}{messages[-1]} {part}"):
            messages[-1] = f"{messages[-1]} {part}"
        else:
            messages.append(part)
    return messages


@dataclass(frozen=True)
class Phrases:
    """The words an SMS alert adds, in the subscriber's language (`console.alerts.sms`
    translates them; the compose preview shows them in English)."""

    retracted: str = "RETRACTED: this update was withdrawn."
    why: str = "Why:"
    withdrawn_text: str = "Withdrawn text"
    what_to_do: str = "What to do:"
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
    instruction: str | None = None,
    phrases: Phrases = Phrases(),
    label: Callable[[str], str] = str,
) -> list[str]:
    """An alert as SMS messages. `labels` are the version's label names (wording.labels),
    `label` says each in the subscriber's language. An exercise or test says so before
    anything; then the labels and the incident title. A retraction then says it is one, gives
    why, and quotes the withdrawn text after "Withdrawn text:", as the email shows it: never
    the withdrawn order on its own, read as one still standing. Otherwise what to do comes
    first (issue 17), then the headline and text, and a correction's "Why:" after them. The
    link and the STOP line last. Each of a drill's several messages starts with its label."""
    drill = wording.opening(label(name) for name in labels if name in wording.DRILL_LABELS)
    if kind is VersionKind.RETRACTION:  # its one other label, RETRACTED, is what `retracted` says
        head = f"{phrases.retracted} {title}:"
        quoted = f'{phrases.withdrawn_text}: "{wording.headline_and_body(headline, body)}"'
        parts = [f"{phrases.why} {wording.sentence(reason)} {quoted}" if reason else quoted]
    else:
        others = (label(name) for name in labels if name not in wording.DRILL_LABELS)
        head = f"{wording.opening(others)}{title}:"
        what_to_do = f"{phrases.what_to_do} {instruction}" if instruction else ""
        parts = [what_to_do, wording.headline_and_body(headline, body)]
        if kind is VersionKind.CORRECTION and reason:
            parts.append(f"{phrases.why} {reason}")
    if translation_pending:
        parts.append(phrases.translation_pending)
    return compose(head, " ".join(part for part in parts if part), link, phrases.stop, every=drill)
