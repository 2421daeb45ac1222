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
    subject: str,
    data: Mapping[str, Any],
    *,
    now: datetime,
    version: UpdateVersion | None = None,
    action: str | None = None,
) -> ChannelEvent:
    """`event_type` for `incident` (about `version`, if given) and its audit event, once the rows
    the change wrote are flushed (`data` names their ids). The audit action is the event's name
    unless the change has a more precise one."""
    incident.updated_at = now
    event = outbox.emit(session, routing, event_type, incident, version=version, now=now)
    audit.record(
        session, actor, action or event_type.value, subject, incident_id=incident.id, now=now, data=data
    )
    return event
