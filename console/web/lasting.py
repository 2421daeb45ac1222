"""Long-lived websockets leave the middleware stack once their handshake is done.

A resident's `/live` socket stays open for hours, mostly waiting, and while an endpoint
waits every layer above it waits too: each middleware's, the router's and the exception
handlers' coroutine frames and closures, about 4 KB a connection, 40 MB for 10,000 residents
(bench/fanout, issue 20). The middleware has nothing left to do for such a socket after the
handshake (they act on HTTP responses and on refusals before `websocket.accept`), so the
endpoint hands the rest of the connection to `LastingConnections`, the outermost
middleware: the stack returns and its frames go, and the rest runs here, in the same task.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

REST = "console.rest_of_connection"


def continue_outside(scope: Scope, rest: Coroutine[Any, Any, None]) -> None:
    """Run `rest` once the endpoint and every middleware under `LastingConnections` have
    returned. The endpoint calls this as its last statement and then returns at once: the
    layers in between do nothing after a websocket endpoint returns."""
    scope[REST] = rest


class LastingConnections:
    """Pure ASGI middleware, the outermost: runs what an endpoint left for after the stack."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except BaseException:
            rest = scope.pop(REST, None)
            if rest is not None:
                rest.close()  # never started: nothing of it to undo
            raise
        rest = scope.pop(REST, None)
        if rest is not None:
            await rest
