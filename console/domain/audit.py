"""The append-only, hash-chained audit trail.

Each row stores hash = SHA-256(previous row's hash + the row's own canonical JSON). Editing
any field of a row breaks its own hash; removing or re-ordering rows breaks the link to the
next one. Removing the newest rows is caught by comparing against a published head hash.
Appends must run inside `Database.write()`, whose lock makes this the only head.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain.actors import Actor
from console.domain.canonical import GENESIS_HASH, canonical_json, chain_hash, iso
from console.models import AuditEvent, utcnow


def row_canonical(
    *,
    seq: int,
    occurred_at: datetime,
    actor_user_id: int | None,
    actor: str,
    action: str,
    incident_id: int | None,
    subject: str,
    data: str,
) -> str:
    return canonical_json(
        {
            "seq": seq,
            "occurred_at": iso(occurred_at),
            "actor_user_id": actor_user_id,
            "actor": actor,
            "action": action,
            "incident_id": incident_id,
            "subject": subject,
            "data": data,
        }
    )


def record(
    session: Session,
    actor: Actor,
    action: str,
    subject: str,
    *,
    incident_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    prev_seq, prev_hash = chain_head(session)
    seq = prev_seq + 1
    fields: dict[str, Any] = {
        "seq": seq,
        "occurred_at": now or utcnow(),
        "actor_user_id": actor.user_id,
        "actor": actor.label,
        "action": action,
        "incident_id": incident_id,
        "subject": subject,
        "data": canonical_json(dict(data or {})),
    }
    event = AuditEvent(**fields, prev_hash=prev_hash, hash=chain_hash(prev_hash, row_canonical(**fields)))
    session.add(event)
    session.flush()
    return event


def record_for_account(
    session: Session,
    actor: Actor,
    action: str,
    user_id: int | None,
    *,
    now: datetime | None,
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """An event about the account `user_id`: its subject and its data name the account."""
    return record(
        session, actor, action, f"user {user_id}", now=now, data={"user_id": user_id, **(data or {})}
    )


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.ok:
            return (
                f"audit chain verified through event {self.head_seq} ({self.count} events), "
                f"head {self.head_hash}"
            )
        return f"audit chain broken at event {self.broken_seq}: {self.problem}"


def _row_problem(row: AuditEvent, prev_seq: int, prev_hash: str) -> str | None:
    """What is wrong with `row` as the event after `prev_seq` (whose hash is `prev_hash`), or None."""
    if row.seq != prev_seq + 1:
        return f"expected event {prev_seq + 1} next, found event {row.seq}"
    if row.prev_hash != prev_hash:
        return "does not link to the event before it (an event was removed, re-ordered or edited)"
    try:
        expected = chain_hash(
            prev_hash,
            row_canonical(
                seq=row.seq,
                occurred_at=row.occurred_at,
                actor_user_id=row.actor_user_id,
                actor=row.actor,
                action=row.action,
                incident_id=row.incident_id,
                subject=row.subject,
                data=row.data,
            ),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        return f"unreadable row ({exc})"
    if row.hash != expected:
        return "its content does not match its hash (the row was edited)"
    return None


def verify_rows(rows: Iterable[AuditEvent]) -> ChainReport:
    prev_hash, prev_seq, count = GENESIS_HASH, 0, 0
    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            break
        except (TypeError, ValueError) as exc:  # a value the driver cannot even parse
            return ChainReport(count, prev_seq, prev_hash, prev_seq + 1, f"unreadable row ({exc})")
        problem = _row_problem(row, prev_seq, prev_hash)
        if problem is not None:
            return ChainReport(count, prev_seq, prev_hash, row.seq, problem)
        count += 1
        prev_hash, prev_seq = row.hash, row.seq
    return ChainReport(count, prev_seq, prev_hash)


def verify_chain(session: Session) -> ChainReport:
    query = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    with closing(session.scalars(query)) as rows:  # closes the server-side cursor on an early return
        return verify_rows(rows)


def chain_head(session: Session) -> tuple[int, str]:
    """The newest event's number and hash: (0, the genesis hash) before the first."""
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)
