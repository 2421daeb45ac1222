"""A process keeps one engine per database: every `Database` on it shares the pool and the
statements compiled for it. The last `Database` disposed of on it closes the pool's connections,
and the engine serves the next one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import literal, select

from console.db import Database


def test_databases_on_one_url_share_the_engine_and_its_compiled_statements(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    assert first.engine is second.engine
    with first.read() as session:
        assert session.scalar(select(literal(1))) == 1
    compiled = len(first.engine._compiled_cache)
    with second.read() as session:
        assert session.scalar(select(literal(2))) == 2
    assert compiled > 0 and len(second.engine._compiled_cache) == compiled  # compiled once, for both


def test_only_the_last_database_disposed_of_closes_the_connections(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    first.ping()
    first.dispose()
    first.dispose()  # twice is once
    pool = second.engine.pool
    assert pool.checkedin() == 1  # the second is still using the engine
    second.dispose()
    assert pool.checkedin() == 0  # closed by the last one
    third = Database(url)
    assert third.engine is first.engine
    third.ping()
    third.dispose()


def test_other_engine_options_get_an_engine_of_their_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    plain, echoed = Database(url), Database(url, echo=False)
    assert plain.engine is not echoed.engine
    plain.dispose()
    echoed.dispose()
