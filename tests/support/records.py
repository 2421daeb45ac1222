"""A small published record to test against."""

from __future__ import annotations

from sqlalchemy import select

from console.db import Database
from console.domain import outbox
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, confirm_update, correct_update, publish_update, retract_update
from console.models import Delivery
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


def claim_one_delivery(db: Database) -> None:
    """One delivery attempt, as a dispatcher makes it: a `delivery.attempted` audit event."""
    with db.write() as session:
        channel = session.scalars(select(Delivery.channel).order_by(Delivery.id).limit(1)).one()
        assert outbox.claim_next(session, channel, ordered=False, lease_seconds=30) is not None
