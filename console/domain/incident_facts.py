"""What every reader's view of an incident says about the incident itself, as it is now."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from console.models import AlertStatus, Incident, IncidentStatus


@dataclass(frozen=True)
class IncidentFacts:
    slug: str
    title: str
    summary: str
    location: str
    category: str
    status: IncidentStatus
    alert_status: AlertStatus
    created_at: datetime
    resolved_at: datetime | None


def facts_of(incident: Incident) -> dict[str, Any]:
    """The `IncidentFacts` fields of `incident`, by name (each is the incident's own column)."""
    return {field.name: getattr(incident, field.name) for field in fields(IncidentFacts)}
