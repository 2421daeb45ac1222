"""The console's list of incidents: active first, with when each last changed and whether
any delivery failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.domain.delivery_status import counts_by_incident
from console.models import DeliveryState, Incident, IncidentStatus, Update, UpdateVersion


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    last_update_at: datetime | None
    updates: int
    failed_deliveries: int
    open_deliveries: int  # pending or sending


def incident_rows(session: Session, *, limit: int = 200) -> list[IncidentRow]:
    incidents = list(
        session.scalars(
            select(Incident)
            .order_by(
                (Incident.status == IncidentStatus.ACTIVE).desc(),
                Incident.updated_at.desc(),
                Incident.id.desc(),
            )
            .limit(limit)
        )
    )
    ids = [incident.id for incident in incidents]
    stats: dict[int, tuple[datetime, int]] = {}
    if ids:
        rows = session.execute(
            select(
                Update.incident_id, func.max(UpdateVersion.published_at), func.count(func.distinct(Update.id))
            )
            .join(UpdateVersion, UpdateVersion.update_id == Update.id)
            .where(Update.incident_id.in_(ids))
            .group_by(Update.incident_id)
        )
        stats = {incident_id: (moment, count) for incident_id, moment, count in rows}
    failed = counts_by_incident(session, [DeliveryState.FAILED])
    open_ = counts_by_incident(session, [DeliveryState.PENDING, DeliveryState.SENDING])
    return [
        IncidentRow(
            incident=incident,
            last_update_at=stats[incident.id][0] if incident.id in stats else None,
            updates=stats[incident.id][1] if incident.id in stats else 0,
            failed_deliveries=failed.get(incident.id, 0),
            open_deliveries=open_.get(incident.id, 0),
        )
        for incident in incidents
    ]
