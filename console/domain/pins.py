""" "What to do now": the one update a PIO pins to show first (issue 13.6).

The pinned update is shown first on the incident page and on `/`, heads the incident's feeds
and is the `<instruction>` of the CAP messages sent while it is pinned. Pinning another
update, or none, is a new `pins` row, announced through the outbox and recorded in the audit
chain like any other public change. A retracted update is never shown as what to do now,
and a resolved incident's all-clear replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import outbox
from console.domain.actors import Actor, require_publisher
from console.domain.errors import InvalidInput, NotAllowed
from console.domain.events import IncidentPinned
from console.domain.incident_changes import announce_change
from console.domain.incidents import ID_MAX, get_incident
from console.domain.updates import latest_version
from console.models import (
    EventType,
    Incident,
    IncidentStatus,
    Pin,
    Update,
    VersionKind,
    utcnow,
)


@dataclass(frozen=True)
class Pinned:
    incident: Incident
    pin: Pin
    seq: int | None  # the pinned update's number; None: nothing is pinned now
    event: IncidentPinned


def current_pin(session: Session, incident_id: int) -> Pin | None:
    """The pin in force: the incident's newest `pins` row (its update None when unpinned)."""
    return session.scalars(
        select(Pin).where(Pin.incident_id == incident_id).order_by(Pin.id.desc()).limit(1)
    ).first()


def _pinnable(session: Session, incident: Incident, seq: int) -> Update:
    if not 1 <= seq <= ID_MAX:  # never an update's number (and past what the database can compare)
        raise InvalidInput({"seq": f"this incident has no update {seq}"})
    update = session.scalars(
        select(Update).where(Update.incident_id == incident.id, Update.seq == seq)
    ).first()
    if update is None:
        raise InvalidInput({"seq": f"this incident has no update {seq}"})
    if latest_version(session, update).kind is VersionKind.RETRACTION:
        raise InvalidInput({"seq": f"update {seq} is retracted: it cannot be what to do now"})
    return update


def pin_update(
    session: Session,
    actor: Actor,
    slug: str,
    seq: int | None,
    *,
    routing: outbox.Routing,
    now: datetime | None = None,
) -> Pinned:
    """Pin update `seq` of incident `slug` as what to do now; `seq` None unpins."""
    require_publisher(actor)
    incident = get_incident(session, slug)
    update = None
    if seq is not None:
        if incident.status is IncidentStatus.RESOLVED:
            raise NotAllowed(f"incident {slug!r} is resolved: its all-clear is shown first")
        update = _pinnable(session, incident, seq)
    current = current_pin(session, incident.id)
    in_force = current.update_id if current is not None else None
    if in_force == (update.id if update is not None else None):
        already = f"update {seq} is already pinned" if seq is not None else "nothing is pinned"
        raise InvalidInput({"seq": already})
    now = now or utcnow()
    pin = Pin(
        incident_id=incident.id,
        update_id=update.id if update is not None else None,
        **actor.authorship,
        pinned_at=now,
    )
    session.add(pin)
    session.flush()
    subject = f"incident {slug} " + (f"update {seq} pinned" if seq is not None else "unpinned")
    data = {"slug": slug, "pin_id": pin.id, "update_id": pin.update_id, "seq": seq}
    event = announce_change(
        session, actor, routing, incident, EventType.INCIDENT_PINNED, subject, data, now=now
    )
    assert isinstance(event, IncidentPinned)
    return Pinned(incident, pin, seq, event)
