"""A public change to an incident, made known: the incident reads as updated, its event goes to
every channel that takes it, and the audit chain records who made the change, all in the
caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from console.domain import audit, outbox
from console.domain.actors import Actor
from console.domain.events import ChannelEvent
from console.models import EventType, Incident, UpdateVersion


def announce_change(
    session: Session,
    actor: Actor,
    routing: outbox.Routing,
    incident: Incident,
    event_type: EventType,
    *,
    action: str,
    subject: str,
    data: Mapping[str, Any],
    now: datetime,
    version: UpdateVersion | None = None,
) -> ChannelEvent:
    """`event_type` for `incident` (about `version`, if given) and the audit event `action`,
    once the rows the change wrote are flushed (`data` names their ids)."""
    incident.updated_at = now
    event = outbox.emit(session, routing, event_type, incident, version=version, now=now)
    audit.record(session, actor, action, subject, incident_id=incident.id, now=now, data=data)
    return event
