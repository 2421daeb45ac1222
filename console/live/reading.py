"""Database reads for the live pages: one consistent snapshot per read, in threads of their own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from console.db import Database

T = TypeVar("T")


class Threads:
    """Threads of their own for the live pages' database reads and rendering: it bounds how
    many run at once (a reconnect storm queues here, not in the database), and shutdown can
    wait for every one of them before the engine is disposed."""

    def __init__(self, count: int = 4) -> None:
        self._executor = ThreadPoolExecutor(count, thread_name_prefix="live")

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read session that sees one moment throughout: the content and cursor of a page agree.

    A SQLite read transaction is a snapshot already; PostgreSQL needs REPEATABLE READ.
    """
    with db.read() as session:
        if not db.is_sqlite:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
