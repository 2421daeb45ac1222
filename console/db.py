"""Engine and transactions.

Every write transaction is serialized across processes: SQLite with `BEGIN IMMEDIATE`,
PostgreSQL with a transaction-scoped advisory lock taken first thing. Publishing is a
few writes a minute, so the cost is nothing, and it buys three guarantees the rest of the
code relies on: outbox event ids become visible in id order (gap-free live resume), the
audit hash chain has exactly one head, and per-incident sequence numbers have no gaps.
Readers never take the lock.

On SQLite, writers of one process also queue on a lock of the process (one per database
file) before `BEGIN IMMEDIATE`: SQLite's busy handler does not wake a waiting writer when the
lock is released but sleeps and tries again, up to 100 ms at a time, so the dispatcher's lanes,
claiming at once, would otherwise spend most of a drain asleep. Other processes still wait in
the busy handler.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from console.domain import signing
from console.domain.signing import Signer

# Any constant works; it only has to be the same in every process of one deployment.
WRITE_LOCK_KEY = 0x1C0_501E
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalize_url(url: str) -> str:
    """Accept the `postgres://` and `postgresql://` spellings hosting platforms hand out."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def build_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


_engines: dict[tuple[str, str], Engine] = {}
_holders: Counter[Engine] = Counter()  # the Databases not yet disposed, by engine
_engines_guard = threading.Lock()


def shared_engine(url: str, **kwargs: Any) -> Engine:
    """The process's engine for `url` (and these engine options). SQLAlchemy means an engine to
    last as long as its process: every `Database` on one database shares its pool and its cache
    of compiled statements, which an engine of its own would compile again (the test suite, with
    an engine per test, spent a fifth of its time compiling)."""
    key = (normalize_url(url), repr(sorted(kwargs.items())))
    with _engines_guard:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = build_engine(url, **kwargs)
        return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so we can emit BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


_process_write_locks: dict[str, threading.RLock] = {}
_process_write_locks_guard = threading.Lock()


def _process_write_lock(url: str) -> threading.RLock:
    """The lock the writers of this process take on this SQLite file (reentrant: a write
    opened inside another in the same thread waits on SQLite, as it did before)."""
    with _process_write_locks_guard:
        return _process_write_locks.setdefault(url, threading.RLock())


@contextmanager
def _queued(lock: threading.RLock | None) -> Iterator[None]:
    # Waiting longer than the busy timeout goes on to BEGIN IMMEDIATE, which then fails as it
    # would have without this queue (a writer stuck inside its transaction is still reported).
    acquired = lock is not None and lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        yield
    finally:
        if acquired:
            assert lock is not None
            lock.release()


class Database:
    """The engine plus the two kinds of session the application uses."""

    def __init__(self, url: str, *, signer: Signer | None = None, **engine_kwargs: Any) -> None:
        self.engine = shared_engine(url, **engine_kwargs)
        with _engines_guard:
            _holders[self.engine] += 1
        self._disposed = False
        # The agency's key set: write sessions carry it, and what they publish is signed with it.
        self.signer = signer
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_lock = (
            _process_write_lock(os.path.realpath(self.engine.url.database or "")) if self.is_sqlite else None
        )
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(writer, expire_on_commit=False, info={signing.SESSION_KEY: signer})

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A serialized write transaction, committed when the block exits without error."""
        with _queued(self._write_lock), self._writer() as session, session.begin():
            if not self.is_sqlite:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Done with the database. The last `Database` disposed of on an engine closes its pooled
        connections (while another is in use, its connections are left alone); the engine stays
        the process's, with its compiled statements, for the next `Database` on it."""
        with _engines_guard:
            if self._disposed:
                return
            self._disposed = True
            _holders[self.engine] -= 1
            last = _holders[self.engine] <= 0
            if last:
                del _holders[self.engine]
        if last:
            self.engine.dispose()
