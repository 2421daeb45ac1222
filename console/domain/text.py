"""Validation of the text people type: one set of rules for the API, the console and the CLI."""

from __future__ import annotations

import re

# Tab, newline and carriage return are fine; every other control character, C0 and C1 (NUL
# above all, which PostgreSQL cannot store), is refused rather than silently removed. A regex
# class body, shared with the OpenAPI description.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Characters that show nothing: zero-width spaces and joiners, direction marks, fillers. Text
# made of these and white space only is blank. A regex class body, as above.
INVISIBLE_CHARACTERS = (
    r"\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u3164\ufeff\uffa0"
)
_FORBIDDEN = re.compile(f"[{CONTROL_CHARACTERS}]")
_VISIBLE = re.compile(f"[^\\s{INVISIBLE_CHARACTERS}]")
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
    if not _VISIBLE.search(text):
        if required:
            errors[field] = "is required and must not be blank"
        return None
    if len(text) > max_chars:
        errors[field] = f"is {len(text):,} characters; the limit is {max_chars:,}"
    return text
