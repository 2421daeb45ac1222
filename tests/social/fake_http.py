"""A small threaded HTTP server on 127.0.0.1 for the fake social networks.

Each fake answers from a script of behaviours (an error, a hang, ...) that a test sets up,
and records every request, so tests can count exactly what reached "the network".
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http_thread import serve_in_thread
from tests.support.server import free_port

HANG_LIMIT_SECONDS = 60.0  # a hang ends by itself at the latest after this


@dataclass
class Call:
    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())

    def parts(self) -> dict[str, Part]:
        """A multipart/form-data body's parts, by field name."""
        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=default).parsebytes(head + self.body)
        found = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str) and isinstance(payload, bytes)
            found[name] = Part(payload, part.get_content_type(), part.get_filename())
        return found


@dataclass(frozen=True)
class Part:
    data: bytes
    content_type: str
    filename: str | None


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Answer]


class FakeServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[Call] = []
        self.lock = threading.RLock()
        self.release = threading.Event()  # set to let hanging requests go
        self.hanging = threading.Event()  # set while a request is being held
        self.routes: list[tuple[str, str, Handler]] = []
        self._stop_serving: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(self, method: str, prefix: str, handler: Handler) -> None:
        self.routes.append((method, prefix, handler))

    def hang(self) -> None:
        """Hold the current request until released (or the hang limit passes)."""
        self.hanging.set()
        self.release.wait(HANG_LIMIT_SECONDS)

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def start(self) -> FakeServer:
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(
                    self.command,
                    parts.path,
                    parts.query,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with fake.lock:
                    fake.calls.append(call)
                answer = Answer(404, {"error": "Record not found"})
                for method, prefix, handler in fake.routes:
                    if method == call.method and _matches(prefix, call.path):
                        answer = handler(call)
                        break
                payload = json.dumps(answer.body).encode() if answer.body is not None else b""
                try:
                    # One of each header, as a real server sends: an answer's own `Date` (a
                    # rate limit's clock) replaces the default one, not a second header that
                    # the client would read as one unparseable date.
                    self.send_response_only(answer.status)
                    headers = {
                        "Server": self.version_string(),
                        "Date": self.date_time_string(),
                        "Content-Type": "application/json; charset=utf-8",
                        "Content-Length": str(len(payload)),
                        **answer.headers,
                    }
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is what the test wanted

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), RequestHandler)
        server.daemon_threads = True
        self._stop_serving = serve_in_thread(server)
        return self

    def stop(self) -> None:
        self.release.set()
        if self._stop_serving is not None:
            self._stop_serving()


def _matches(pattern: str, path: str) -> bool:
    """`/2/users/*/tweets` style patterns: `*` is one path segment."""
    want, have = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


class Script:
    """What the next requests of one kind answer: popped in order, then the default."""

    def __init__(self) -> None:
        self._steps: deque[Any] = deque()
        self._lock = threading.Lock()

    def add(self, *steps: Any) -> None:
        with self._lock:
            self._steps.extend(steps)

    def next(self, default: Any = "ok") -> Any:
        with self._lock:
            return self._steps.popleft() if self._steps else default
