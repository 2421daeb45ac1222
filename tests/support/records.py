"""A small published record to test against."""

from __future__ import annotations

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, confirm_update, correct_update, publish_update, retract_update
from tests.conftest import PIO


def publish_sample(db: Database, routing: Routing) -> str:
    """An incident whose update went through every kind of version; returns the slug."""
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        update = publish_update(
            session, PIO, incident.slug, Draft(body="Wrong street evacuated."), routing=routing
        )
        correct_update(
            session,
            PIO,
            update.update.id,
            Draft(body="Elm St evacuated."),
            reason="Wrong street",
            corrects_version=1,
            routing=routing,
        )
        confirm_update(session, PIO, update.update.id, corrects_version=2, routing=routing)
        retract_update(session, PIO, update.update.id, reason="All clear given in error", routing=routing)
        return incident.slug
