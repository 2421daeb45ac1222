"""CSV that is safe to open in a spreadsheet.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula, so text a stranger typed (an incident title, a
reason, a display name) could run `=cmd|'/C calc'!A0` or leak other cells on the machine of
whoever opens the export (OWASP "CSV injection"). Such a cell is written with a leading `'`,
which spreadsheets show as text; the JSON exports keep every text exactly as published. A
text that already starts with `'` before such a character gets one more, so that `uncell`
gives back every text exactly (`'=quoted` is not mistaken for an escaped `=quoted`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _escaped(text: str) -> bool:
    """Whether `text` is written with a leading `'`: it starts with a formula character, after
    any number of `'`."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if _escaped(text) else text


def uncell(value: str) -> str:
    """The text `cell` wrote as `value`."""
    return value[1:] if value.startswith("'") and _escaped(value[1:]) else value


def csv_text(rows: Iterable[Iterable[object]], header: Iterable[str] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue()
