"""Uploads never attached (issue 18, `console media prune`): once older than the grace period
they are removed with their narrower copies, in one audited step; an image a version shows, or
one uploaded within the grace period, stays; and the database itself refuses to delete an
image a version shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from console.db import Database
from console.domain import approval
from console.domain.actors import OPERATOR, Actor
from console.domain.errors import PermissionDenied
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.media import MediaDraft
from console.domain.media_prune import prune_uploads
from console.domain.outbox import Routing
from console.domain.updates import NO_TRANSLATIONS, Draft, publish_update
from console.media import store
from console.media_models import MediaFile
from console.models import AuditEvent, Role
from console.settings import Settings
from tests.conftest import PIO
from tests.support.factories import make_user
from tests.support.images import photo_with_gps, png, webp
from tests.support.media import store_upload

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TWO_DAYS_AGO = NOW - timedelta(days=2)


def files_of(db: Database, media_id: int) -> list[str]:
    """The file names of an upload and its narrower copies."""
    with db.read() as session:
        rows = session.scalars(
            select(MediaFile).where((MediaFile.id == media_id) | (MediaFile.variant_of_id == media_id))
        ).all()
        return sorted(store.file_name(row.sha256, row.extension) for row in rows)


def attach(db: Database, routing: Routing, media_id: int) -> None:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=routing)
        draft = Draft(body="Smoke.", media=(MediaDraft(media_id, "Smoke over the bridge"),))
        publish_update(session, PIO, incident.slug, draft, routing=routing)


@pytest.fixture
def uploads(db: Database, settings: Settings, routing: Routing) -> dict[str, int]:
    """An old upload never attached (with narrower copies), an old one a version shows, and a
    recent one not attached yet."""
    orphan, _ = store_upload(db, settings, photo_with_gps(), "image/jpeg", now=TWO_DAYS_AGO)
    attached, _ = store_upload(db, settings, png(), "image/png", now=TWO_DAYS_AGO)
    attach(db, routing, attached)
    recent, _ = store_upload(db, settings, webp(), "image/webp", now=NOW - timedelta(hours=1))
    return {"orphan": orphan, "attached": attached, "recent": recent}


def test_an_old_upload_never_attached_is_removed_with_its_copies(
    db: Database, settings: Settings, uploads: dict[str, int]
) -> None:
    orphan_files = files_of(db, uploads["orphan"])
    assert len(orphan_files) == 2  # the upload (turned upright: 800 px wide) and its 480 px copy
    with db.write() as session:
        pruned = prune_uploads(session, OPERATOR, older_than=timedelta(hours=24), now=NOW)
    assert [upload.media_id for upload in pruned.uploads] == [uploads["orphan"]]
    assert sorted(pruned.files) == orphan_files
    assert files_of(db, uploads["orphan"]) == []
    with db.read() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "media.pruned")).all()
        assert json.loads(event.data)["uploads"] == [
            {"media_id": uploads["orphan"], "sha256": pruned.uploads[0].sha256}
        ]
    # The files are the caller's to delete, after the commit; the others' stay untouched.
    assert all((settings.media_dir / name).is_file() for name in orphan_files)


def test_attached_and_recent_uploads_survive(db: Database, uploads: dict[str, int]) -> None:
    kept = {name: files_of(db, media_id) for name, media_id in uploads.items() if name != "orphan"}
    with db.write() as session:
        prune_uploads(session, OPERATOR, older_than=timedelta(hours=24), now=NOW)
    assert {name: files_of(db, uploads[name]) for name in kept} == kept
    with db.write() as session:  # a second run finds nothing more, and records nothing
        assert prune_uploads(session, OPERATOR, older_than=timedelta(hours=24), now=NOW).uploads == ()
    with db.read() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "media.pruned")).all()
        assert len(events) == 1


def test_a_shorter_grace_period_reaches_the_recent_upload(db: Database, uploads: dict[str, int]) -> None:
    with db.write() as session:
        pruned = prune_uploads(session, OPERATOR, older_than=timedelta(minutes=30), now=NOW)
    assert sorted(upload.media_id for upload in pruned.uploads) == [uploads["orphan"], uploads["recent"]]
    assert files_of(db, uploads["attached"]) != []


def test_an_upload_a_pending_version_names_survives(
    db: Database, settings: Settings, routing: Routing, uploads: dict[str, int]
) -> None:
    """An image sent with a version that waits for approval is kept (the approver has not seen
    it published yet), though no published version shows it."""
    author = Actor(make_user(db, "pio", "author@example.org", "Ana Diaz"), "Ana Diaz", Role.PIO, "api")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=routing)
        draft = Draft(body="Smoke.", media=(MediaDraft(uploads["orphan"], "Smoke over the bridge"),))
        approval.submit_original(
            session, author, incident.slug, draft, translations=NO_TRANSLATIONS, routing=routing
        )
    with db.write() as session:
        pruned = prune_uploads(session, OPERATOR, older_than=timedelta(hours=24), now=NOW)
    assert pruned.uploads == ()
    assert files_of(db, uploads["orphan"]) != []


def test_only_an_admin_prunes(db: Database, uploads: dict[str, int]) -> None:
    with pytest.raises(PermissionDenied), db.write() as session:
        prune_uploads(session, PIO, now=NOW)


def test_the_database_refuses_to_delete_an_image_a_version_shows(
    db: Database, settings: Settings, routing: Routing, uploads: dict[str, int]
) -> None:
    large, _ = store_upload(db, settings, photo_with_gps(900, 600), "image/jpeg", now=TWO_DAYS_AGO)
    attach(db, routing, large)
    for statement in (
        "DELETE FROM media_files WHERE id = :id",
        "DELETE FROM media_files WHERE variant_of_id = :id",  # its narrower copy
    ):
        with pytest.raises(DatabaseError), db.write() as session:
            session.execute(text(statement), {"id": large})
    with pytest.raises(DatabaseError), db.write() as session:
        session.execute(text("UPDATE media_files SET width = 1 WHERE id = :id"), {"id": uploads["orphan"]})
