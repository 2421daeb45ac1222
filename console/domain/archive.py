"""The public archive: every incident ever published, newest first, filtered and searched.

Dates in filters are calendar days in the agency's time zone. An incident is in a date
range when it was open during any part of it (created before the range ends, and not
resolved before it starts), so "what was going on that week" finds it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, distinct, func, or_, select
from sqlalchemy.orm import Session

from console.domain import search
from console.domain.errors import InvalidInput
from console.domain.incident_facts import IncidentFacts, facts_of
from console.domain.incidents import CATEGORIES
from console.domain.paging import Page, check_page_number
from console.models import Incident, Update, UpdateVersion

PER_PAGE = 25
T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ArchiveFilter:
    terms: search.SearchTerms = search.SearchTerms()
    category: str | None = None
    since: date | None = None  # first day, inclusive
    until: date | None = None  # last day, inclusive

    @property
    def active(self) -> bool:
        return bool(not self.terms.empty or self.category or self.since or self.until)


@dataclass(frozen=True)
class ArchiveEntry(IncidentFacts):
    updates: int
    last_update_at: datetime | None


ArchivePage = Page[ArchiveEntry]


FIRST_DAY, LAST_DAY = date(2, 1, 1), date(9998, 12, 31)


def _day(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = "must be a date written YYYY-MM-DD"
        return None
    # The day after `to` and either day moved into UTC must still be a date.
    if not FIRST_DAY <= day <= LAST_DAY:
        errors[name] = f"must be a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
        return None
    return day


def parse_filter(
    *, q: str | None = None, category: str | None = None, since: str | None = None, until: str | None = None
) -> ArchiveFilter:
    """The filter from what a person typed; every problem is reported, none is guessed around."""
    errors: dict[str, str] = {}
    chosen = None
    if category and category.strip():
        chosen = next((c for c in CATEGORIES if c.lower() == category.strip().lower()), None)
        if chosen is None:
            errors["category"] = f"must be one of {', '.join(CATEGORIES)}"
    first, last = _day(since, "from", errors), _day(until, "to", errors)
    if first and last and first > last:
        errors["to"] = "must not be before the first day"
    text = _CONTROL.sub(" ", q or "")
    if len(text) > search.SEARCH_MAX:
        errors["q"] = f"is {len(text):,} characters; the limit is {search.SEARCH_MAX}"
    if errors:
        raise InvalidInput(errors)
    return ArchiveFilter(search.parse(text), chosen, first, last)


def day_bounds(
    first: date | None, last: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """[start of `first`, start of the day after `last`) in the zone, as aware datetimes."""
    start = datetime.combine(first, time.min, zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min, zone) if last else None
    return start, end


def _conditions(session: Session, where: ArchiveFilter, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.category:
        conditions.append(Incident.category == where.category)
    start, end = day_bounds(where.since, where.until, zone)
    if end is not None:
        conditions.append(Incident.created_at < end)
    if start is not None:
        conditions.append(or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start))
    if not where.terms.empty:
        conditions.append(search.matches(session, where.terms))
    return conditions


def _counts(session: Session, ids: list[int]) -> dict[int, tuple[int, datetime | None]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Update.incident_id, func.count(distinct(Update.id)), func.max(UpdateVersion.published_at))
        .join(UpdateVersion, UpdateVersion.update_id == Update.id)
        .where(Update.incident_id.in_(ids))
        .group_by(Update.incident_id)
    )
    return {incident_id: (count, last) for incident_id, count, last in rows}


def newest_first(query: Select[T]) -> Select[T]:
    return query.order_by(Incident.created_at.desc(), Incident.id.desc())


def archive_page(
    session: Session, where: ArchiveFilter, *, page: int, zone: ZoneInfo, per_page: int = PER_PAGE
) -> ArchivePage:
    check_page_number(page)
    conditions = _conditions(session, where, zone)
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    # Ids first, then the rows: sorting every match's full row (a search can match them all)
    # costs four times as much as sorting their ids.
    ids = list(
        session.scalars(
            newest_first(select(Incident.id).where(*conditions)).limit(per_page).offset((page - 1) * per_page)
        )
    )
    rows = {
        incident.id: incident for incident in session.scalars(select(Incident).where(Incident.id.in_(ids)))
    }
    incidents = [rows[incident_id] for incident_id in ids]
    counts = _counts(session, [incident.id for incident in incidents])
    entries = [
        ArchiveEntry(
            **facts_of(incident),
            updates=counts.get(incident.id, (0, None))[0],
            last_update_at=counts.get(incident.id, (0, None))[1],
        )
        for incident in incidents
    ]
    return ArchivePage(entries, total, page, per_page)
