"""`BROADCAST_URL=postgres://…`: PostgreSQL LISTEN/NOTIFY. Payloads are small (ids only),
well under NOTIFY's 8000-byte limit."""

from __future__ import annotations

from collections import deque

import psycopg
from psycopg import sql

from console.live.broadcast import BroadcastUnavailable, Event

CONNECT_TIMEOUT_SECONDS = 5
# notifies() holds the connection while it waits; return now and then so LISTEN and
# UNLISTEN are not starved.
WAIT_SECONDS = 1.0


class PostgresBackend:
    def __init__(self, url: str) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._listener: psycopg.AsyncConnection[object] | None = None
        self._publisher: psycopg.AsyncConnection[object] | None = None
        self._received: deque[Event] = deque()

    async def _connect(self) -> psycopg.AsyncConnection[object]:
        try:
            return await psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except psycopg.Error as exc:
            raise BroadcastUnavailable(f"PostgreSQL: {exc}") from exc

    async def connect(self) -> None:
        self._listener = await self._connect()

    async def disconnect(self) -> None:
        for connection in (self._listener, self._publisher):
            if connection is not None:
                await connection.close()
        self._listener = self._publisher = None

    async def _execute(self, connection: psycopg.AsyncConnection[object] | None, query: sql.Composed) -> None:
        if connection is None:
            raise BroadcastUnavailable("not connected to PostgreSQL")
        try:
            await connection.execute(query)
        except psycopg.Error as exc:
            raise BroadcastUnavailable(f"PostgreSQL: {exc}") from exc

    async def subscribe(self, topic: str) -> None:
        await self._execute(self._listener, sql.SQL("LISTEN {}").format(sql.Identifier(topic)))

    async def unsubscribe(self, topic: str) -> None:
        await self._execute(self._listener, sql.SQL("UNLISTEN {}").format(sql.Identifier(topic)))

    async def publish(self, topic: str, message: str) -> None:
        """On the publishing connection; once more on a fresh one if that fails: the listener's
        reconnection (`disconnect`) may have closed it under us, or the server restarted since
        it was last used. Raises BroadcastUnavailable when the fresh one fails too."""
        query = sql.SQL("SELECT pg_notify({}, {})").format(sql.Literal(topic), sql.Literal(message))
        for attempt in range(2):
            if self._publisher is None or self._publisher.closed:
                self._publisher = await self._connect()
            connection = self._publisher
            try:
                await self._execute(connection, query)
                return
            except BroadcastUnavailable:
                if self._publisher is connection:
                    self._publisher = None
                if attempt:
                    raise

    async def next_published(self) -> Event:
        while not self._received:
            if self._listener is None:
                raise BroadcastUnavailable("not connected to PostgreSQL")
            try:
                # Drain everything that arrived together: stopping in the middle of a batch
                # would drop the rest of it.
                async for notify in self._listener.notifies(timeout=WAIT_SECONDS, stop_after=1):
                    self._received.append(Event(notify.channel, notify.payload))
            except psycopg.Error as exc:
                raise BroadcastUnavailable(f"PostgreSQL: {exc}") from exc
        return self._received.popleft()
