"""uvicorn's websocket protocol, lighter by what it keeps and no longer needs.

A resident's connection lives for hours and there are tens of thousands of them, so every
kilobyte a connection keeps is tens of megabytes (bench/fanout, issue 20). uvicorn's
websockets-sansio protocol keeps two things it does not need:
- the handshake's request and response (their parsed headers), never read again once the
  socket is accepted: 2 KB, let go once the accept is sent;
- an `asyncio.Queue` for the messages the app has yet to receive: four empty deques, 3 KB,
  for what is mostly nothing or one message. `Inbox` does the same for the one reader
  an ASGI app is, in a tenth of that.
`console serve` and the Procfile's `--ws` run this protocol; `tests/live/test_resident_connections.py`
fails if a uvicorn upgrade keeps the handshake or the queue some other way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

IMPORT_PATH = "console.web.resident_sockets:ResidentSockets"


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

    def start_keepalive(self) -> None:
        # uvicorn starts the keepalive right after it wrote the accepted handshake's response:
        # from here on it never reads the handshake again. (Here rather than in `send`, which
        # every frame to every resident goes through.)
        super().start_keepalive()
        self.request = self.response = None  # type: ignore[assignment]
