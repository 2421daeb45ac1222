"""Pure ASGI middleware (never BaseHTTPMiddleware: it buffers and breaks streaming)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(connect_src: Sequence[str] = (), img_src: Sequence[str] = ()) -> str:
    """Scripts and styles come only from our own origin: no inline script can run, so markup
    that slips into a page cannot execute. `connect_src` adds origins pages may connect to,
    `img_src` origins they may show images from (the console map's tiles)."""
    connect = " ".join(["'self'", *connect_src])
    images = " ".join(["'self'", "data:", *img_src])
    return (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; "
        f"connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def websocket_origin(public_url: str) -> str:
    """The ws:// or wss:// origin of PUBLIC_URL: not every browser counts it as 'self'."""
    parts = urlsplit(public_url)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


DEFAULT_CSP = content_security_policy()

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": DEFAULT_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    # Geolocation for our own pages only: "Am I in the area?" (static/js/area.js) asks for it
    # when a reader presses its button, and checks it in the browser (issue 17).
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(self)",
}


def security_headers(connect_src: Sequence[str] = ()) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(connect_src)}


class SecurityHeadersMiddleware:
    """Adds security headers to every HTTP response that did not set its own."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, declared or streamed. `uploads` maps
    the paths that take a file (an image, issue 18) to their own larger limit, which applies
    only to multipart bodies: anything else sent there is held to `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int, uploads: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.uploads = dict(uploads or {})

    def _limit(self, scope: Scope) -> int:
        upload = self.uploads.get(scope.get("path", ""))
        if upload is None:
            return self.default_max_bytes
        for name, value in scope["headers"]:
            if name == b"content-type" and value.split(b";")[0].strip().lower() == b"multipart/form-data":
                return upload
        return self.default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope)
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > max_bytes):
                await self._refuse(scope, receive, send, max_bytes)
                return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, max_bytes)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = JSONResponse(
            {"error": {"code": "too_large", "message": f"the request body is over {max_bytes:,} bytes"}},
            status_code=413,
        )
        await response(scope, receive, send)
