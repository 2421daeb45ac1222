"""HTML form fields, read leniently: a missing field is empty, never a crash."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

TRUE_VALUES = frozenset({"on", "1", "true", "yes"})


class Form:
    def __init__(self, data: FormData) -> None:
        self.data = data

    def text(self, name: str) -> str:
        """The field as typed. Browsers send textarea line breaks as CRLF; they become LF."""
        value = self.data.get(name)
        return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else ""

    def flag(self, name: str) -> bool:
        return self.text(name).strip().lower() in TRUE_VALUES

    def integer(self, name: str) -> int | None:
        value = self.text(name).strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


async def read_form(request: Request) -> Form:
    return Form(await request.form())
