"""GET /healthz says OK only when the console can work: a database that answers but was never
migrated (the release step skipped or failed), or was restored from a backup of an older
version, cannot publish or serve a page, and the load balancer must hear so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from starlette.testclient import TestClient

from console.db import Database
from console.migrate import alembic_config, upgrade
from console.settings import Settings
from console.web.app import create_app


def _health(settings: Settings) -> tuple[int, dict[str, str]]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
        return response.status_code, response.json()


def test_healthz_is_ok_on_a_migrated_database(settings: Settings) -> None:
    assert _health(settings) == (200, {"status": "ok", "database": "ok", "broadcast": "in-process"})


def test_healthz_is_unavailable_on_a_database_never_migrated(settings: Settings, tmp_path: Path) -> None:
    fresh = replace(settings, database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    status, body = _health(fresh)
    assert status == 503
    assert body["status"] == "unavailable"
    assert "console db upgrade" in body["database"]


def test_healthz_is_unavailable_on_a_database_at_an_older_schema(settings: Settings, tmp_path: Path) -> None:
    """A backup of an older version restored under this one: the schema is behind."""
    older = replace(settings, database_url=f"sqlite:///{tmp_path / 'older.db'}")
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)
    db = Database(older.database_url)
    try:
        upgrade(db, previous)
    finally:
        db.dispose()
    status, body = _health(older)
    assert status == 503
    assert "console db upgrade" in body["database"]
    assert previous in body["database"] and head in body["database"]


def test_healthz_stays_ok_on_a_schema_newer_than_this_version(settings: Settings, tmp_path: Path) -> None:
    """A rolling deploy: the release step has migrated for the new version while this one still
    serves. The schema is ahead, not behind: this process keeps serving."""
    # A database of its own: the run's shared one (PostgreSQL's) must stay at this version's head.
    newer = replace(settings, database_url=f"sqlite:///{tmp_path / 'newer.db'}")
    db = Database(newer.database_url)
    try:
        upgrade(db)
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0001'"))
    finally:
        db.dispose()
    status, body = _health(newer)
    assert (status, body["status"]) == (200, "ok")
