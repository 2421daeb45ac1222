"""Refused websocket handshakes are logged at INFO, as the ordinary event they are.

An unknown incident in `/live?incident=`, a malformed query or a path with no websocket is
refused before the handshake completes, and the client gets that answer (our status, or
uvicorn's 403). uvicorn's `websockets-sansio` protocol (what it picks when `websockets` is
installed) then still logs "ASGI callable returned without completing handshake." at ERROR:
it never marks a handshake answered with a denial response as done (Kludex/uvicorn#3138,
open; its `wsproto` protocol does). Alerting on ERROR would fire on every mistyped link.

`RefusedHandshakes` logs each refusal at INFO and marks it, in the connection's context, and
`RefusedHandshakeFilter` drops uvicorn's line for exactly those connections: an app that
returns without answering a handshake at all is still an ERROR.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("console.web.handshakes")
UVICORN_LOG = "uvicorn.error"
UVICORN_LINE = "ASGI callable returned without completing handshake."
REFUSALS = ("websocket.close", "websocket.http.response.start")

# Set in the connection's own context: uvicorn awaits the app inline and logs after it returns.
_refused: ContextVar[bool] = ContextVar("websocket_handshake_refused", default=False)


def printable(text: str) -> str:
    """`text` on one line: each character that is not printable (line breaks, the terminal's
    escape, U+2028) as its Python escape. A path is the client's, percent-decoded: as it is, it
    could end the line and write one of its own (a fake ERROR, a fake record)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class RefusedHandshakes:
    """Pure ASGI middleware: notes a websocket refused before `websocket.accept`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False

        async def watch(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept":
                accepted = True
            elif not accepted and message["type"] in REFUSALS and not _refused.get():
                _refused.set(True)
                status = message.get("status", 403)  # uvicorn answers a close before accept with 403
                log.info("websocket handshake refused: %s %s", status, printable(scope.get("path", "")))
            await send(message)

        await self.app(scope, receive, watch)


class RefusedHandshakeFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_refused.get() and record.getMessage() == UVICORN_LINE)


def install_filter() -> None:
    """On uvicorn's logger (once): its logging config is applied before the app starts."""
    logger = logging.getLogger(UVICORN_LOG)
    if not any(isinstance(existing, RefusedHandshakeFilter) for existing in logger.filters):
        logger.addFilter(RefusedHandshakeFilter())
