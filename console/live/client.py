"""One resident's websocket connection, as the live stream sees it.

Frames go out in event order, each at most once (the client's cursor). While a client is
resuming, live frames are held and released after the replay. A send that cannot complete
at once (the socket is full) becomes the client's writer task and later frames queue
behind it, up to `max_buffered`; past that the client cannot keep up and is dropped with
close code 1013, so it reconnects and resumes from the database. No client ever makes the
fan-out wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from console.live.eager import start_eagerly
from console.live.render import Frame

Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]
# Writes a frame's wire bytes at once if the socket takes them now; False: use `Send`, in turn.
WriteFrame = Callable[[bytes], bool]

TRY_AGAIN_LATER = 1013  # the ws extension reconnects on it
# Says the connection is alive: live.js reconnects after a silence (a connection that died
# without the browser noticing), and drops any frame that is not an event's.
KEEPALIVE = Frame.of(0, "<!-- keepalive -->")


class LiveClient:
    def __init__(
        self,
        send: Send,
        *,
        topic: str | None,
        max_buffered: int,
        on_drop: Callable[[LiveClient], None] = lambda client: None,
        lang: str | None = None,
        write: WriteFrame | None = None,
    ) -> None:
        self.topic = topic  # an incident's slug, or None for every incident
        self.lang = lang  # the page's language (None: the primary language)
        self.cursor: int | None = None  # the newest event id sent (or seen before connecting)
        self.dropped = False
        self.drop_reason = ""
        self.too_slow = False
        self._send = send
        self._write = write
        self._max_buffered = max_buffered
        self._on_drop = on_drop
        self._held: list[Frame] | None = []  # live frames that arrived during the resume
        # A list, not a deque: it is at most LIVE_SEND_BUFFER long and mostly empty, and an
        # empty deque costs ten times as much, 0.6 KB per resident's connection (issue 20).
        self._buffer: list[Frame] = []
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer) + (len(self._held) if self._held is not None else 0)

    def offer(self, frame: Frame) -> None:
        """A live frame, in event order. Never waits."""
        if self.dropped:
            return
        if self._held is not None:
            self._held.append(frame)
            if len(self._held) > self._max_buffered:
                self.drop("too far behind while resuming")
            return
        self._push(frame)

    def keepalive(self) -> None:
        """Send `KEEPALIVE` unless the client is resuming or frames are already on their way
        (a socket that is full: they say it, or its buffer drops the client). Never waits."""
        if self.dropped or self._held is not None or self._writer is not None:
            return
        self._start(KEEPALIVE)

    async def replay(self, after: int, frames: list[Frame], *, timeout: float) -> None:
        """The client has seen every event up to `after`: send what it missed (in order), then
        release the live frames held meanwhile."""
        self.cursor = after
        try:
            async with asyncio.timeout(timeout):
                for frame in frames:
                    if self.dropped:
                        return
                    if self._fresh(frame):
                        self.cursor = frame.event_id
                        await self._send(frame.message)
        except TimeoutError:
            self.drop("too slow to take the missed events")
            return
        if self.dropped:
            return
        held, self._held = self._held or [], None
        for frame in held:
            self._push(frame)

    def _fresh(self, frame: Frame) -> bool:
        return frame.reset or (self.cursor is not None and frame.event_id > self.cursor)

    def _push(self, frame: Frame) -> None:
        if self.dropped or not self._fresh(frame):
            return
        self.cursor = frame.event_id
        if self._writer is not None:  # a send is waiting on this socket: queue behind it
            self._buffer.append(frame)
            if len(self._buffer) > self._max_buffered:
                self.drop(f"more than {self._max_buffered} frames waiting to be sent")
            return
        self._start(frame)

    def _start(self, frame: Frame) -> None:
        if self._write is not None and self._write(frame.wire):
            return
        try:
            self._writer = start_eagerly(self._send(frame.message))
        except Exception:  # the socket is gone (WebSocketDisconnect, OSError, closed)
            self.drop("disconnected", slow=False)
            return
        if self._writer is not None:
            self._writer.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writer = None
        if task.cancelled() or self.dropped:
            return
        if task.exception() is not None:
            self.drop("disconnected", slow=False)
            return
        while self._buffer and self._writer is None and not self.dropped:
            self._start(self._buffer.pop(0))

    def drop(self, reason: str, *, slow: bool = True) -> None:
        """Stop sending to this client and ask it to reconnect (it will resume)."""
        if self.dropped:
            return
        self.dropped = True
        self.drop_reason = reason
        self.too_slow = slow
        self._buffer.clear()
        self._held = None
        if self._writer is not None:
            self._writer.cancel()
        self._on_drop(self)
        if slow:  # a client that is gone needs no goodbye
            self._closer = asyncio.get_running_loop().create_task(self._close())

    async def _close(self) -> None:
        # Waits while the socket is full; uvicorn's keepalive ping times out a dead peer.
        with contextlib.suppress(Exception):
            await self._send(
                {"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": "reconnect to resume"}
            )
