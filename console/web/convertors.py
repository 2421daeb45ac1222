"""Path convertors: `{name:int}` matches only numbers every id column can hold.

Starlette's own `int` matches any run of digits, so a 20-digit id reached the database and
failed there (SQLite: past 64 bits; PostgreSQL: past a 32-bit `integer` at 10 digits) with a
500. Nine digits always fit, and a longer number is simply no route: 404.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

ID_DIGITS_MAX = 9


class IdConvertor(IntegerConvertor):
    regex = f"[0-9]{{1,{ID_DIGITS_MAX}}}"


def register() -> None:
    register_url_convertor("int", IdConvertor())
