"""Validation of the text people type: one set of rules for the API, the console and the CLI."""

from __future__ import annotations

import re

# Tab, newline and carriage return are fine; every other control character, C0 and C1 (NUL
# above all, which PostgreSQL cannot store), is refused rather than silently removed. A regex
# class body, shared with the OpenAPI description.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Characters that show nothing: zero-width spaces and joiners, direction marks (the Arabic
# letter mark too), fillers, variation selectors, the blank Braille pattern, and the rest of
# Unicode's default-ignorable characters of the Basic Multilingual Plane. Text made of these
# and white space only is blank. A regex class body, as above (BMP only: the OpenAPI pattern,
# an ECMAScript regex without the `u` flag, takes it as it is).
INVISIBLE_CHARACTERS = (
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
)
# The default-ignorable characters beyond it: shorthand and musical format controls, and the
# tag characters and variation selectors of plane 14 (a "text" of tags alone shows nothing).
INVISIBLE_ASTRAL_CHARACTERS = r"\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
# Something that shows: what makes a required text not blank.
VISIBLE = re.compile(f"[^\\s{INVISIBLE_CHARACTERS}{INVISIBLE_ASTRAL_CHARACTERS}]")
_FORBIDDEN = re.compile(f"[{CONTROL_CHARACTERS}]")
# Direction controls that open a run: embeddings and overrides (closed by U+202C) and isolates
# (closed by U+2069). One left open turns around the text after it up to the end of its line,
# and the channels that join texts (a post, an SMS, a CAP headline) put other text there: the
# next field, the incident's link. Balanced ones, as editors write around right-to-left words,
# are kept as typed.
_OPENS_EMBEDDING = "\u202a\u202b\u202d\u202e"
_OPENS_ISOLATE = "\u2066\u2067\u2068"
_DIRECTION = re.compile("[\u202a-\u202e\u2066-\u2069]")
_PARAGRAPH_BREAK = re.compile("[\n\u2029]")
# A line break as browsers send a textarea's (CRLF), or an old Mac's (CR): one newline, so that
# every channel, the content hash and an XML parser's reading of a CAP file hold the same text.
_LINE_BREAK = re.compile(r"\r\n?")

HEADLINE_MAX = 200
BODY_MAX = 5000
REASON_MAX = 1000
TITLE_MAX = 200
SUMMARY_MAX = 2000
LOCATION_MAX = 200


def newlines(value: str) -> str:
    """Every line break as one newline."""
    return _LINE_BREAK.sub("\n", value)


def clean(
    value: str | None, *, max_chars: int, required: bool, errors: dict[str, str], field: str
) -> str | None:
    """Line breaks made newlines, outer white space stripped, and checked; problems go into
    `errors` under `field`."""
    if value and _FORBIDDEN.search(value):  # before stripping: one at an edge is refused too
        errors[field] = "contains control characters"
        return None
    text = newlines(value or "").strip()
    if not VISIBLE.search(text):
        if required:
            errors[field] = "is required and must not be blank"
        return None
    if len(text) > max_chars:
        errors[field] = f"is {len(text):,} characters; the limit is {max_chars:,}"
    elif (control := unclosed_direction(text)) is not None:
        errors[field] = (
            f"leaves a text direction control (U+{ord(control):04X}) open at the end of a line: "
            "close it (U+202C, or U+2069 for an isolate) or remove it, or it turns around the "
            "text that follows it on the channels that join texts"
        )
    return text


def unclosed_direction(text: str) -> str | None:
    """The first direction control that a line of `text` leaves open, as the Unicode
    bidirectional algorithm pairs them (a closer with nothing to close is ignored)."""
    if not _DIRECTION.search(text):
        return None
    for line in _PARAGRAPH_BREAK.split(text):
        open_runs: list[str] = []
        for char in line:
            if char in _OPENS_EMBEDDING or char in _OPENS_ISOLATE:
                open_runs.append(char)
            elif char == "\u202c" and open_runs and open_runs[-1] in _OPENS_EMBEDDING:
                open_runs.pop()
            elif char == "\u2069" and any(run in _OPENS_ISOLATE for run in open_runs):
                while open_runs.pop() not in _OPENS_ISOLATE:  # closes the embeddings inside it too
                    pass
        if open_runs:
            return open_runs[0]
    return None
