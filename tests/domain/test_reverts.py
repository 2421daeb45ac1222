"""Naming what a correction written from an older version would undo of the newer ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from console.db import Database
from console.domain.errors import InvalidInput
from console.domain.outbox import Routing
from console.domain.reverts import hunks, introduced, reverts
from console.domain.updates import CORRECT, Draft, change_update, correct_update, publish_update
from console.models import AuditEvent, UpdateVersion, VersionKind
from tests.conftest import PIO
from tests.domain.test_updates import counts, new_incident


def version(number: int, body: str, author: str = "Dana Ortiz", headline: str | None = None) -> UpdateVersion:
    kind = VersionKind.ORIGINAL if number == 1 else VersionKind.CORRECTION
    at = datetime(2026, 3, 1, 22, 40 + number, tzinfo=UTC)
    return UpdateVersion(
        version=number, kind=kind, headline=headline, body=body, author_name=author, published_at=at
    )


def test_a_change_is_read_as_one_phrase_across_short_unchanged_runs() -> None:
    assert introduced("Shelter at Station 4, 310 Birch St.", "Shelter at Fire Station 7, 55 Cedar St.") == [
        "Fire Station 7, 55 Cedar"
    ]
    assert introduced(
        "Crews are on scene. Avoid the area.", "Crews and police are on scene. Avoid the area today."
    ) == [
        "and police",
        "today",
    ]
    [taken_out] = hunks("Road closed at the bridge. Use Route 9.", "Road closed at the bridge.")
    assert (taken_out.added, taken_out.removed) == ("", "Use Route 9.")


def test_text_written_from_an_older_version_names_each_newer_change_it_undoes() -> None:
    history = [
        version(1, "Shelter at Station 4, 310 Birch St. Use Route 9.", "Casey Park"),
        version(2, "Shelter at Fire Station 7, 55 Cedar St. Use Route 9."),
        version(3, "Shelter at Fire Station 7, 55 Cedar St.", "Sam Lee"),
    ]
    sent = "Shelter at Station 4, 310 Birch St. Use Route 9. Open until 6 am."
    found = reverts(history, 1, None, sent)
    assert [(r.version, r.author, r.text, r.restores) for r in found] == [
        (2, "Dana Ortiz", "Fire Station 7, 55 Cedar", False),
        (3, "Sam Lee", "Use Route 9.", True),
    ]
    assert reverts(history, 3, None, sent) == [], "nothing newer than where the PIO started"
    kept = "Shelter at Fire Station 7, 55 Cedar St. Open until 6 am."
    assert reverts(history, 1, None, kept) == [], "keeping the colleagues' changes reverts nothing"
    reworded = "Open until 6 am: Fire Station 7 (55 Cedar St)."
    assert reverts(history, 1, None, reworded) == [], "rewording around their change undoes nothing"
    partly = "Shelter at Fire Station 4, 310 Birch St. Open until 6 am."
    assert [r.text for r in reverts(history, 1, None, partly)] == ["Fire Station 7, 55 Cedar"]


def test_the_service_publishes_a_revert_only_when_told_and_records_it(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Shelter at Station 4."), routing=routing
        ).update.id
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Shelter at Fire Station 7."),
            reason="Moved",
            corrects_version=1,
            routing=routing,
        )
    back = Draft(body="Shelter at Station 4. Open until 6 am.")
    before = counts(db)
    with pytest.raises(InvalidInput) as refused, db.write() as session:
        change_update(
            session,
            PIO,
            update_id,
            CORRECT,
            corrects_version=2,
            started_from=1,
            reason="Hours",
            draft=back,
            routing=routing,
        )
    assert "reverts" in refused.value.fields
    assert counts(db) == before
    with db.write() as session:
        change_update(
            session,
            PIO,
            update_id,
            CORRECT,
            corrects_version=2,
            started_from=1,
            reverts_confirmed=True,
            reason="Hours",
            draft=back,
            routing=routing,
        )
    with db.read() as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event is not None and event.action == "version.published"
        data = json.loads(event.data)
    assert data["revert_confirmed"] is True
    assert data["reverts"] == [
        {"version": 2, "author": PIO.name, "text": "Fire Station 7", "restores": False}
    ]
