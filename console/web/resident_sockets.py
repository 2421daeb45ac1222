"""uvicorn's websocket protocol, lighter by what it keeps and no longer needs.

A resident's connection lives for hours and there are tens of thousands of them, so every
kilobyte a connection keeps is tens of megabytes (bench/fanout, issue 20). uvicorn's
websockets-sansio protocol keeps two things it does not need:
- the handshake's request and response (their parsed headers), never read again once the
  socket is accepted: 2 KB, let go once the accept is sent;
- an `asyncio.Queue` for the messages the app has yet to receive: four empty deques, 3 KB,
  for what is mostly nothing or one message. `Inbox` does the same for the one reader
  an ASGI app is, in a tenth of that.
And it lets the live stream write a frame serialized once for every resident straight to
the socket (the scope's `FRAMES_EXTENSION`, `write_frame`): through ASGI each of 10,000
residents cost a coroutine, four wrappers of `send` and a serialization of its own.

`console serve` and the Procfile's `--ws` run this protocol; `tests/live/test_resident_connections.py`
fails if a uvicorn upgrade keeps the handshake or the queue some other way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

IMPORT_PATH = "console.web.resident_sockets:ResidentSockets"
# In an accepted socket's ASGI scope["extensions"]: {"write": ResidentSockets.write_frame}.
FRAMES_EXTENSION = "console.websocket.frames"


def frame_writer(scope: Mapping[str, Any]) -> Callable[[bytes], bool] | None:
    """The socket's `write_frame`, if its server offers it (`console serve`, the Procfile)."""
    write: Callable[[bytes], bool] | None = (
        (scope.get("extensions") or {}).get(FRAMES_EXTENSION, {}).get("write")
    )
    return write


class Inbox:
    """An unbounded queue for one reader: `put_nowait`, `get`, `empty`, as asyncio.Queue."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("a websocket's messages are received by one reader at a time")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class ResidentSockets(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Not with an extension (compression): its frames differ per connection.
        if not self.close_sent and not self.conn.extensions:
            self.scope["extensions"][FRAMES_EXTENSION] = {"write": self.write_frame}

    def write_frame(self, frame: bytes) -> bool:
        """Write a whole frame (`console.live.render.Frame.wire`) now. False if it must go
        through `send`, in turn: the socket is not open (not accepted yet, closing or gone) or
        is full (its writes paused)."""
        if self.conn.state is not State.OPEN or not self.writable.is_set() or self.transport.is_closing():
            return False
        self.transport.write(frame)
        return True

    def start_keepalive(self) -> None:
        # uvicorn starts the keepalive right after it wrote the accepted handshake's response:
        # from here on it never reads the handshake again. (Here rather than in `send`, which
        # every frame to every resident goes through.)
        super().start_keepalive()
        self.request = self.response = None  # type: ignore[assignment]
