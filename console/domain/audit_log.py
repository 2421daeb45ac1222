"""The audit log as reviewers read it: filtered, paged, exported, and its chain status.

Only reviewers and admins read it (the issue's "reviewer and admin"): it names accounts
and carries delivery errors, which the public never sees, and PIOs are the people it audits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, not_, select
from sqlalchemy.orm import Session

from console.domain.audit import ChainReport
from console.domain.errors import InvalidInput, NotFound
from console.domain.incidents import get_incident
from console.domain.integrity import IntegrityReport, verify
from console.models import AuditEvent, Incident, Update

PAGE_DEFAULT = 100
PAGE_MAX = 1000
ACTION_PATTERN = r"^[a-z_]+(\.[a-z_]+)*(\.\*|\*)?$"
_ACTION = re.compile(ACTION_PATTERN)
# A day, or a time (RFC 3339; without an offset it is local time, as a datetime-local field sends it).
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?")
ACTOR_MAX = 200
# Every channel's attempt at every version is an event: the bulk of a busy log.
DELIVERY_ACTIONS = "delivery."
FLAGS = {"true": True, "1": True, "false": False, "0": False}
_HASH = re.compile(r"^[0-9a-f]{64}$")

CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "actor_user_id",
    "action",
    "incident",
    "subject",
    "data",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None  # part of the actor's label, any case ("Dana", "user 4", "via api")
    action: str | None = None  # exact, or a prefix ending in * ("delivery.*")
    incident_id: int | None = None
    incident_slug: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    hide_deliveries: bool = False  # leave out the delivery.* events


def _utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # the first or last representable instant: nothing lies beyond it
        return datetime.min.replace(tzinfo=UTC) if moment.year < 2 else datetime.max.replace(tzinfo=UTC)


def _moment(value: str, name: str, zone: ZoneInfo, *, end: bool, errors: dict[str, str]) -> datetime | None:
    try:
        if _DAY.fullmatch(value):  # a calendar day: from its start, or up to the end of it
            day = date.fromisoformat(value)
            if end and day == date.max:
                return datetime.max.replace(tzinfo=UTC)
            return _utc(datetime.combine(day + timedelta(days=1) if end else day, time.min, zone))
        if _TIME.fullmatch(value):
            moment = datetime.fromisoformat(value[:-1] + "Z" if value.endswith("z") else value)
            return _utc(moment.replace(tzinfo=zone) if moment.tzinfo is None else moment)
    except ValueError:
        pass
    errors[name] = "must be a date (YYYY-MM-DD) or a time such as 2026-03-01T14:30:00Z"
    return None


def parse_query(
    session: Session,
    *,
    zone: ZoneInfo,
    actor: str | None = None,
    action: str | None = None,
    incident: str | None = None,
    since: str | None = None,
    until: str | None = None,
    hide_deliveries: str | None = None,
) -> AuditQuery:
    """Filters as given: `None` is no filter, and an empty value is refused like any malformed
    one (the console page passes its empty fields as `None`). Days are days in the agency's time
    zone and `until` includes its whole day; a time without an offset is local time. An empty
    range simply matches nothing."""
    errors: dict[str, str] = {}
    if actor is not None and not actor.strip():  # a slip (an empty one would match every label)
        errors["actor"] = "must be part of an actor's label, not empty or blank"
    elif actor is not None and len(actor) > ACTOR_MAX:
        errors["actor"] = f"must be at most {ACTOR_MAX} characters"
    if action is not None and not _ACTION.fullmatch(action):
        errors["action"] = "must be an action such as version.published, or a prefix such as delivery.*"
    first = _moment(since, "since", zone, end=False, errors=errors) if since is not None else None
    last = _moment(until, "until", zone, end=True, errors=errors) if until is not None else None
    if incident is not None and not incident.strip():
        errors["incident"] = "must be an incident's slug, not empty or blank"
    if hide_deliveries is not None and hide_deliveries not in FLAGS:
        errors["hide_deliveries"] = "must be true or false (or 1 or 0)"
    if errors:
        raise InvalidInput(errors)
    try:
        incident_id = get_incident(session, incident).id if incident is not None else None  # unknown: 404
    except NotFound:
        raise NotFound("no incident has the slug given in `incident`") from None
    hide = FLAGS.get(hide_deliveries or "false", False)
    return AuditQuery(actor, action, incident_id, incident, first, last, hide)


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.actor:
        # No label holds a NUL (and PostgreSQL cannot compare one): such a filter matches nothing.
        conditions.append(
            false() if "\x00" in query.actor else AuditEvent.actor.icontains(query.actor, autoescape=True)
        )
    if query.action:
        if query.action.endswith("*"):
            conditions.append(AuditEvent.action.startswith(query.action.rstrip("*"), autoescape=True))
        else:
            conditions.append(AuditEvent.action == query.action)
    if query.incident_id is not None:
        conditions.append(AuditEvent.incident_id == query.incident_id)
    if query.since is not None:
        conditions.append(AuditEvent.occurred_at >= query.since)
    if query.until is not None:
        conditions.append(AuditEvent.occurred_at < query.until)
    if query.hide_deliveries:
        conditions.append(not_(AuditEvent.action.startswith(DELIVERY_ACTIONS, autoescape=True)))
    return conditions


def event_view(event: AuditEvent, slug: str | None) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "actor_user_id": event.actor_user_id,
        "action": event.action,
        "incident": slug,
        "subject": event.subject,
        "data": json.loads(event.data),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _select(query: AuditQuery, before: int | None):  # type: ignore[no-untyped-def]
    conditions = _conditions(query)
    if before is not None:
        conditions.append(AuditEvent.seq < before)
    return (
        select(AuditEvent, Incident.slug)
        .outerjoin(Incident, Incident.id == AuditEvent.incident_id)
        .where(*conditions)
        .order_by(AuditEvent.seq.desc())
    )


@dataclass(frozen=True)
class AuditPage:
    events: list[dict[str, Any]]
    next_before: int | None  # pass as `before` for the next (older) page
    # Each named update's number within its incident: events keep the database id, which
    # readers never see elsewhere ("update 2 of Flood B", not "update 17").
    update_seqs: dict[int, int]


def audit_page(session: Session, query: AuditQuery, *, before: int | None, limit: int) -> AuditPage:
    """Matching events, newest first; pages by sequence number, so new events never shift them."""
    if not 1 <= limit <= PAGE_MAX:
        raise InvalidInput({"limit": f"must be 1 to {PAGE_MAX}"})
    rows = list(session.execute(_select(query, before).limit(limit + 1)))
    events = [event_view(event, slug) for event, slug in rows[:limit]]
    named = {event["data"].get("update_id") for event in events} - {None}
    numbered = session.execute(select(Update.id, Update.seq).where(Update.id.in_(named))) if named else ()
    update_seqs = {update_id: seq for update_id, seq in numbered}
    return AuditPage(events, events[-1]["seq"] if len(rows) > limit else None, update_seqs)


def csv_row(event: dict[str, Any]) -> list[str]:
    return [
        str(event["seq"]),
        event["occurred_at"],
        event["actor"],
        "" if event["actor_user_id"] is None else str(event["actor_user_id"]),
        event["action"],
        event["incident"] or "",
        event["subject"],
        json.dumps(event["data"], ensure_ascii=False, sort_keys=True),
        event["prev_hash"],
        event["hash"],
    ]


def chain_status(session: Session) -> dict[str, Any]:
    """The whole chain and every version checked now: "verified through event N" or the first break."""
    report: IntegrityReport = verify(session)
    chain: ChainReport = report.chain
    return {
        "ok": report.ok,
        "verified_through": chain.head_seq,
        "events": chain.count,
        "head_hash": chain.head_hash,
        "broken_at": chain.broken_seq,
        "problem": chain.problem,
        "versions_checked": report.versions_checked,
        "version_problem": report.version_problem,
        "summary": report.describe(),
    }


def valid_head_hash(value: str) -> bool:
    return bool(_HASH.match(value))


@dataclass(frozen=True)
class KeptHead:
    digest: str
    seq: int | None  # the event whose hash it is, if any
    proven: bool  # that event lies inside the verified part of the chain

    def describe(self) -> str:
        if self.seq is None:
            return (
                f"kept head {self.digest} is not in the audit chain: "
                "the log up to it was rewritten or removed since it was published"
            )
        if not self.proven:
            return (
                f"kept head {self.digest} is event {self.seq}, "
                "but the chain is broken before it, so it cannot be proven"
            )
        return f"kept head {self.digest} is event {self.seq}: the log up to it is unchanged"


def check_kept_head(session: Session, digest: str, chain: ChainReport) -> KeptHead:
    """Whether a head published earlier (an export's `audit_head.hash`) still ends a verified
    prefix of the chain: the hash of event N covers every event up to N."""
    seq = session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == digest.lower()).limit(1))
    # A broken report's head is the last event that still verified.
    return KeptHead(digest.lower(), seq, seq is not None and seq <= chain.head_seq)
