"""Versioned updates: every change is a new version; nothing is overwritten or lost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from console.db import Database
from console.domain.errors import InvalidInput, NotAllowed, NotFound, PermissionDenied, VersionConflict
from console.domain.events import VersionPublished
from console.domain.incidents import IncidentDraft, create_incident, resolve_incident, slugify
from console.domain.outbox import Routing
from console.domain.records import incident_record
from console.domain.updates import (
    DEFAULT_CONFIRMATION_REASON,
    Draft,
    confirm_update,
    correct_update,
    publish_update,
    retract_update,
)
from console.models import AuditEvent, Delivery, UpdateVersion, VersionKind
from console.settings import Settings
from tests.conftest import PIO, REVIEWER


def new_incident(db: Database, routing: Routing, title: str = "Water main break") -> str:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title=title), routing=routing)
        return incident.slug


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(UpdateVersion)) or 0,
            session.scalar(select(func.count()).select_from(Delivery)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def test_publish_correct_confirm_retract_keeps_every_version(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        first = publish_update(session, PIO, slug, Draft(body="Main St closed at 3rd Ave."), routing=routing)
        update_id = first.update.id
    assert first.version.preliminary is True, "preliminary is the default"
    assert isinstance(first.event, VersionPublished) and first.event.kind is VersionKind.ORIGINAL

    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Main St closed at 4th Ave."),
            reason="Wrong cross street",
            corrects_version=1,
            routing=routing,
        )
        confirmed = confirm_update(session, PIO, update_id, corrects_version=2, routing=routing)
        retracted = retract_update(session, PIO, update_id, reason="Issued in error", routing=routing)

    assert confirmed.version.reason == DEFAULT_CONFIRMATION_REASON
    assert confirmed.version.body == "Main St closed at 4th Ave."
    assert retracted.version.body == "Main St closed at 4th Ave.", "a retraction keeps the text"
    with db.read() as session:
        record = incident_record(session, slug, internal=False)
    [update] = record["updates"]
    assert [(v["version"], v["kind"], v["preliminary"], v["reason"]) for v in update["versions"]] == [
        (1, "original", True, None),
        (2, "correction", True, "Wrong cross street"),
        (3, "confirmation", False, "Information confirmed"),
        (4, "retraction", False, "Issued in error"),
    ]
    assert [v["body"] for v in update["versions"]][:2] == [
        "Main St closed at 3rd Ave.",
        "Main St closed at 4th Ave.",
    ]


def test_stale_correction_is_a_conflict_carrying_the_newer_version(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Two people hurt."), routing=routing
        ).update.id
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Three people hurt."),
            reason="Count updated",
            corrects_version=1,
            routing=routing,
        )
    before = counts(db)
    with pytest.raises(VersionConflict) as conflict, db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Four people hurt."),
            reason="Count updated",
            corrects_version=1,
            routing=routing,
        )
    assert conflict.value.current["version"] == 2
    assert conflict.value.current["body"] == "Three people hurt."
    assert counts(db) == before, "a conflict writes nothing"


@pytest.mark.parametrize(
    ("draft", "reason", "field"),
    [
        (Draft(body="   \n\t "), "why", "body"),
        (Draft(body="x" * 5001), "why", "body"),
        (Draft(body="ok", headline="h" * 201), "why", "headline"),
        (Draft(body="ok"), None, "reason"),
        (Draft(body="ok"), "   ", "reason"),
        (Draft(body="nul \x00 byte"), "why", "body"),
    ],
)
def test_bad_corrections_name_the_field_and_write_nothing(
    db: Database, routing: Routing, draft: Draft, reason: str | None, field: str
) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(session, PIO, slug, Draft(body="Original"), routing=routing).update.id
    before = counts(db)
    with pytest.raises(InvalidInput) as error, db.write() as session:
        correct_update(session, PIO, update_id, draft, reason=reason, corrects_version=1, routing=routing)
    assert field in error.value.fields
    assert counts(db) == before


def test_limits_are_inclusive(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        published = publish_update(
            session, PIO, slug, Draft(body="x" * 5000, headline="h" * 200), routing=routing
        )
    assert len(published.version.body) == 5000


def test_a_retracted_update_takes_no_new_versions(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Shelter in place"), routing=routing
        ).update.id
        retract_update(session, PIO, update_id, reason="Sent in error", routing=routing)
    with pytest.raises(NotAllowed), db.write() as session:
        correct_update(
            session, PIO, update_id, Draft(body="Shelter"), reason="x", corrects_version=2, routing=routing
        )


def test_confirming_twice_and_identical_corrections_are_refused(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(session, PIO, slug, Draft(body="Road open"), routing=routing).update.id
        confirm_update(session, PIO, update_id, corrects_version=1, routing=routing)
    with pytest.raises(NotAllowed, match="already confirmed"), db.write() as session:
        confirm_update(session, PIO, update_id, corrects_version=2, routing=routing)
    with pytest.raises(InvalidInput, match="identical"), db.write() as session:
        correct_update(
            session, PIO, update_id, Draft(body="Road open"), reason="x", corrects_version=2, routing=routing
        )


def test_a_correction_keeps_the_preliminary_flag_unless_told(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="A", preliminary=False), routing=routing
        ).update.id
        kept = correct_update(
            session, PIO, update_id, Draft(body="B"), reason="typo", corrects_version=1, routing=routing
        )
        marked = correct_update(
            session,
            PIO,
            update_id,
            Draft(body="C", preliminary=True),
            reason="unsure",
            corrects_version=2,
            routing=routing,
        )
    assert kept.version.preliminary is False
    assert marked.version.preliminary is True


def test_sequence_numbers_are_per_incident_and_gap_free(db: Database, routing: Routing) -> None:
    first, second = new_incident(db, routing, "Fire"), new_incident(db, routing, "Fire")
    assert (first, second) == ("fire", "fire-2")
    with db.write() as session:
        seqs = [
            publish_update(session, PIO, slug, Draft(body=f"u{i}"), routing=routing).update.seq
            for i, slug in enumerate([first, second, first, first, second])
        ]
    assert seqs == [1, 1, 2, 3, 2]


def test_resolved_incidents_refuse_new_updates_but_accept_corrections(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        update_id = publish_update(session, PIO, slug, Draft(body="Evacuate"), routing=routing).update.id
        resolve_incident(session, PIO, slug, routing=routing)
    with pytest.raises(NotAllowed, match="resolved"), db.write() as session:
        publish_update(session, PIO, slug, Draft(body="More"), routing=routing)
    with db.write() as session:
        correction = correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Evacuate Zone B only"),
            reason="Only Zone B",
            corrects_version=1,
            routing=routing,
        )
    assert correction.version.version == 2
    with pytest.raises(NotAllowed, match="already resolved"), db.write() as session:
        resolve_incident(session, PIO, slug, routing=routing)


def test_reviewers_cannot_publish_and_unknown_things_are_not_found(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with pytest.raises(PermissionDenied), db.write() as session:
        publish_update(session, REVIEWER, slug, Draft(body="x"), routing=routing)
    with pytest.raises(NotFound), db.write() as session:
        publish_update(session, PIO, "no-such-incident", Draft(body="x"), routing=routing)
    with pytest.raises(NotFound), db.write() as session:
        retract_update(session, PIO, 999_999, reason="x", routing=routing)


def test_each_version_fans_out_to_every_enabled_channel(
    db: Database, routing: Routing, settings: Settings
) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        published = publish_update(session, PIO, slug, Draft(body="x"), routing=routing)
        channels = sorted(
            session.scalars(select(Delivery.channel).where(Delivery.event_id == published.event.event_id))
        )
    assert channels == sorted(settings.channels) and {"live", "archive"} <= set(channels)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Police activity near Riverside Park", "police-activity-near-riverside-park"),
        ("Évacuation — Zone B!", "evacuation-zone-b"),
        ("火事", "incident"),
    ],
)
def test_slugs_are_readable_ascii(title: str, slug: str) -> None:
    assert slugify(title) == slug
