"""HTML form fields, read leniently: a missing field is empty, never a crash."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from console.domain.text import newlines

TRUE_VALUES = frozenset({"on", "1", "true", "yes"})


class Form:
    def __init__(self, data: FormData) -> None:
        self.data = data

    def text(self, name: str) -> str:
        """The field as typed. Browsers send textarea line breaks as CRLF; they become LF."""
        value = self.data.get(name)
        return newlines(value) if isinstance(value, str) else ""

    def flag(self, name: str) -> bool:
        return self.text(name).strip().lower() in TRUE_VALUES

    def integer(self, name: str) -> int | None:
        value = self.text(name).strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


# The console's forms have a few text fields and no file: a part that is a file (or a
# thousand fields) is refused with 400 before anything is stored or acted on.
# The correct form is the largest: per language of LANGUAGES its headline, text and instruction
# and what each was pre-filled with (six; ten in Spanish, with the WEA texts), "Alert details"
# (issue 17: nine fields and up to nine response types) and a dozen others: 150 is a dozen
# languages' worth.
MAX_FIELDS = 150


NOT_UTF8 = "The form was not sent as UTF-8 text, so nothing was done. Reload the page and try again."


async def form_data(request: Request) -> FormData:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # The form parser would turn bytes that are not UTF-8 into U+FFFD and carry on:
        # refuse instead, so no text is ever published other than as typed.
        try:
            for field in (await request.body()).split(b"&"):
                unquote_to_bytes(field.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(400, NOT_UTF8) from None
    return await request.form(max_files=0, max_fields=MAX_FIELDS)


async def read_form(request: Request) -> Form:
    return Form(await form_data(request))
