"""JSON in and out of the API: strict parsing, typed fields, one error shape.

Every error is `{"error": {"code", "message", "fields"?}}` with a 4xx status, and is
raised before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from console.domain.errors import InvalidInput


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    fields: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = dict(fields)
    return JSONResponse({"error": error, **(extra or {})}, status_code=status, headers=headers)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


async def read_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "application/json":
        raise BadRequest(415, "unsupported_media_type", "send the body as application/json")
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    if params.strip() and charset not in ("utf-8", "utf8"):
        raise BadRequest(415, "unsupported_media_type", "the JSON body must be UTF-8")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, "invalid_utf8", f"the body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise BadRequest(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # "[[[[..." 100,000 deep fits in MAX_REQUEST_BYTES
        raise BadRequest(400, "malformed_json", "the body is nested too deeply") from exc
    if not isinstance(data, dict):
        raise BadRequest(400, "malformed_json", "the body must be a JSON object")
    try:
        # A `\ud800` escape decodes to a lone surrogate, which is no character and which no
        # database column can store: refused here, never half-written.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(400, "invalid_unicode", "the body holds a lone surrogate (\\ud800-\\udfff)") from exc
    return data


async def read_no_body(request: Request) -> None:
    """For actions that take no body: nothing, or an empty JSON object `{}`. Anything else is
    refused before acting, so a malformed or mistaken request never resolves or resumes
    anything, and a streamed body is still counted against MAX_REQUEST_BYTES."""
    if await request.body():
        Fields(await read_object(request), ()).check()


class Fields:
    """Typed access to a JSON object's fields, collecting every problem before raising."""

    def __init__(self, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}
        allowed = set(allowed)
        for name in data:
            if name not in allowed:
                self.errors[name] = f"is not a known field (known: {', '.join(sorted(allowed))})"

    def _given(self, name: str, required: bool) -> Any:
        """The field's value; None when it is absent or null (a problem if it is `required`)."""
        value = self.data.get(name)
        if value is None and required:
            self.errors[name] = "is required"
        return value

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self._given(name, required)
        if value is None or isinstance(value, str):
            return value
        self.errors[name] = "must be a string"
        return None

    def flag(self, name: str) -> bool | None:
        value = self._given(name, required=False)
        if value is None or isinstance(value, bool):
            return value
        self.errors[name] = "must be true or false"
        return None

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self._given(name, required)
        if isinstance(value, float) and value.is_integer():  # JSON does not tell 2 from 2.0
            return int(value)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.errors[name] = "must be an integer"
        return None

    def check(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)
