"""Autosaved forms (issue 13.7): one per author and form, private, never audited, gone once
published or discarded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from console.db import Database
from console.domain import autosave
from console.domain.actors import Actor
from console.domain.autosave import CONTENT_MAX, FormName, TypedForm
from console.domain.errors import InvalidInput, PermissionDenied
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.previews import DraftText
from console.domain.updates import Draft, publish_update
from console.models import AuditEvent, AutosavedForm, Role
from tests.conftest import PIO
from tests.support.factories import make_user

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
TYPED = TypedForm(
    DraftText(headline="Shelter open", body="The shelter at Lincoln High is open.", preliminary=True),
    translations={"es": ("Refugio abierto", "El refugio de Lincoln High está abierto.")},
)
# "Alert details" (issue 17), by the form's field names, and each translation's own
ALERTING = TypedForm(
    DraftText(body="Leave the area now."),
    translations={"es": ("", "Salga de la zona ahora.")},
    alerting={
        "instruction": "Go to Lincoln High.",
        "cap_urgency": "Immediate",
        "wea_short": "",
        "cap_expires": "",
    },
    response_types=("Evacuate", "Avoid"),
    translated_alerting={
        "es": {"instruction": "Vaya a Lincoln High.", "wea_short": "Evacúe: vaya a Lincoln High."}
    },
)


def person(db: Database, role: str, email: str) -> Actor:
    return Actor(make_user(db, role, email), email, Role(role), "console")


@pytest.fixture
def ana(db: Database) -> Actor:
    return person(db, "pio", "ana@example.org")


@pytest.fixture
def targets(db: Database, routing: Routing) -> tuple[int, int]:
    """An incident's id and the id of its one update."""
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="River flood"), routing=routing)
        update = publish_update(session, PIO, incident.slug, Draft(body="Stay away."), routing=routing)
        return incident.id, update.update.id


def audit_rows(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_saved_form_comes_back_as_typed_and_saving_again_replaces_it(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    incident_id, _ = targets
    audited = audit_rows(db)
    with db.write() as session:
        autosave.save(session, ana, FormName.COMPOSE, incident_id, TYPED, now=T0)
    later = TypedForm(DraftText(body="The shelter is full; go to Fire Station 7."))
    with db.write() as session:
        autosave.save(session, ana, FormName.COMPOSE, incident_id, later, now=T0 + timedelta(minutes=1))
    with db.read() as session:
        saved = autosave.restore(session, ana, FormName.COMPOSE, incident_id)
        count = session.scalar(select(func.count()).select_from(AutosavedForm))
    assert saved is not None and (saved.typed, saved.saved_at) == (later, T0 + timedelta(minutes=1))
    assert count == 1, "one per author and form"
    assert audit_rows(db) == audited, "typing is not an audit event"


def test_translations_and_the_corrected_version_are_kept(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    _, update_id = targets
    with db.write() as session:
        autosave.save(session, ana, FormName.CORRECT, update_id, TYPED, base_version=1, now=T0)
    with db.read() as session:
        saved = autosave.restore(session, ana, FormName.CORRECT, update_id)
        [listed] = autosave.of_author(session, ana)
    assert saved is not None and saved.typed == TYPED and saved.base_version == 1
    assert (listed.incident_slug, listed.update_id, listed.update_seq) == ("river-flood", update_id, 1)


def test_each_author_sees_only_their_own(db: Database, ana: Actor, targets: tuple[int, int]) -> None:
    incident_id, _ = targets
    ben = person(db, "pio", "ben@example.org")
    with db.write() as session:
        autosave.save(session, ana, FormName.COMPOSE, incident_id, TYPED, now=T0)
    with db.read() as session:
        assert autosave.restore(session, ben, FormName.COMPOSE, incident_id) is None
        assert autosave.of_author(session, ben) == []
        assert [item.incident_title for item in autosave.of_author(session, ana)] == ["River flood"]


def test_an_emptied_form_and_a_discarded_one_are_forgotten(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    incident_id, update_id = targets
    with db.write() as session:
        autosave.save(session, ana, FormName.COMPOSE, incident_id, TYPED, now=T0)
        autosave.save(session, ana, FormName.CORRECT, update_id, TYPED, now=T0)
    with db.write() as session:
        assert (
            autosave.save(
                session, ana, FormName.COMPOSE, incident_id, TypedForm(DraftText(body="  ")), now=T0
            )
            is None
        )
        assert autosave.discard(session, ana, FormName.CORRECT, update_id) is True
        assert autosave.discard(session, ana, FormName.CORRECT, update_id) is False
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AutosavedForm)) == 0


def test_only_a_publisher_saves_and_never_beyond_the_limit(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    incident_id, _ = targets
    reviewer = person(db, "reviewer", "rae@example.org")
    with db.write() as session, pytest.raises(PermissionDenied):
        autosave.save(session, reviewer, FormName.COMPOSE, incident_id, TYPED, now=T0)
    with db.write() as session, pytest.raises(InvalidInput) as refused:
        autosave.save(
            session, ana, FormName.COMPOSE, incident_id, TypedForm(DraftText(body="x" * CONTENT_MAX)), now=T0
        )
    assert "too long to save" in refused.value.fields["form"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AutosavedForm)) == 0


def test_alert_details_and_the_translations_own_come_back_as_typed(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    incident_id, update_id = targets
    with db.write() as session:
        autosave.save(session, ana, FormName.COMPOSE, incident_id, ALERTING, now=T0)
        autosave.save(session, ana, FormName.CORRECT, update_id, ALERTING, base_version=1, now=T0)
    with db.read() as session:
        composed = autosave.restore(session, ana, FormName.COMPOSE, incident_id)
        corrected = autosave.restore(session, ana, FormName.CORRECT, update_id)
    assert composed is not None and composed.typed == ALERTING
    assert corrected is not None and corrected.typed == ALERTING


def test_an_instruction_alone_is_kept_and_blank_alert_details_are_nothing_typed(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    incident_id, _ = targets
    blank = TypedForm(
        DraftText(), alerting={"instruction": " ", "cap_urgency": ""}, translated_alerting={"es": {}}
    )
    only_instruction = TypedForm(DraftText(), translated_alerting={"vi": {"instruction": "Ở trong nhà."}})
    with db.write() as session:
        assert autosave.save(session, ana, FormName.COMPOSE, incident_id, blank, now=T0) is None
        assert (
            autosave.save(session, ana, FormName.COMPOSE, incident_id, only_instruction, now=T0) is not None
        )
        assert TypedForm(DraftText(), response_types=("Shelter",)).empty is False


def test_a_form_saved_before_alert_details_were_saved_comes_back_without_them(
    db: Database, ana: Actor, targets: tuple[int, int]
) -> None:
    incident_id, _ = targets
    with db.write() as session:
        autosave.save(session, ana, FormName.COMPOSE, incident_id, TYPED, now=T0)
        row = session.scalars(select(AutosavedForm)).one()
        row.content = json.dumps(  # as written before issue 17's fields were saved
            {
                "headline": "Shelter open",
                "body": "Open.",
                "preliminary": False,
                "reason": "",
                "translations": {},
            }
        )
    with db.read() as session:
        saved = autosave.restore(session, ana, FormName.COMPOSE, incident_id)
    assert saved is not None and saved.typed == TypedForm(
        DraftText("Shelter open", "Open.", preliminary=False)
    )
    assert (saved.typed.alerting, saved.typed.response_types, saved.typed.translated_alerting) == ({}, (), {})
