"""Validation of the text people type: one set of rules for the API, the console and the CLI."""

from __future__ import annotations

import re

# Tab, newline and carriage return are fine; other control characters (NUL above all,
# which PostgreSQL cannot store) are refused rather than silently removed.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

HEADLINE_MAX = 200
BODY_MAX = 5000
REASON_MAX = 1000
TITLE_MAX = 200
SUMMARY_MAX = 2000
LOCATION_MAX = 200


def clean(
    value: str | None, *, max_chars: int, required: bool, errors: dict[str, str], field: str
) -> str | None:
    """Strip outer whitespace and check; problems go into `errors` under `field`."""
    if value and _FORBIDDEN.search(value):  # before stripping: one at an edge is refused too
        errors[field] = "contains control characters"
        return None
    text = (value or "").strip()
    if not text:
        if required:
            errors[field] = "is required and must not be blank"
        return None
    if len(text) > max_chars:
        errors[field] = f"is {len(text):,} characters; the limit is {max_chars:,}"
    return text
