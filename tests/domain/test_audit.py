"""The record cannot be changed silently: the database refuses edits of versions and audit
rows, and `console audit verify` names the first row an attacker touched anyway."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from console.db import Database
from console.domain import audit
from console.domain.integrity import verify
from console.domain.outbox import Routing
from console.models import AuditEvent
from tests.conftest import IMMUTABLE_TABLES, POSTGRES_URL
from tests.support.records import publish_sample


@pytest.mark.parametrize("table", IMMUTABLE_TABLES)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_the_database_refuses_changes_to_immutable_rows(
    db: Database, routing: Routing, table: str, statement: str
) -> None:
    publish_sample(db, routing)
    with pytest.raises(DatabaseError, match="immutable"), db.engine.begin() as conn:
        conn.execute(text(statement.format(table=table)))


def test_an_untouched_record_verifies(db: Database, routing: Routing) -> None:
    publish_sample(db, routing)
    with db.read() as session:
        report = verify(session)
        head = audit.chain_head(session)
    assert report.ok, report.describe()
    assert report.chain.count == head[0] == 5  # incident created + four versions
    assert report.chain.head_hash == head[1]
    assert report.versions_checked == 4


# Always a different digit, whatever the first one was.
FLIP_FIRST_DIGIT = "CASE WHEN substr({column}, 1, 1) = '0' THEN '1' ELSE '0' END || substr({column}, 2)"

AUDIT_EDITS = {
    "data": "data = replace(data, 'Wrong', 'Right')",
    "actor": "actor = 'someone else'",
    "action": "action = 'incident.resolved'",
    "subject": "subject = subject || ' '",
    "occurred_at": "occurred_at = occurred_at",  # replaced per backend below
    "hash": f"hash = {FLIP_FIRST_DIGIT.format(column='hash')}",
    "prev_hash": f"prev_hash = {FLIP_FIRST_DIGIT.format(column='prev_hash')}",
    "incident_id": "incident_id = 999",
    "actor_user_id": "actor_user_id = 4242",
}


@pytest.mark.parametrize("column", sorted(AUDIT_EDITS))
def test_editing_any_column_of_an_audit_row_is_found(
    tampered_db: Database, routing: Routing, column: str
) -> None:
    db = tampered_db
    publish_sample(db, routing)
    with db.read() as session:
        target = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "version.published")
            .order_by(AuditEvent.seq)
            .offset(1)
        ).first()
    assert target is not None
    edit = AUDIT_EDITS[column]
    if column == "occurred_at":
        edit = (
            "occurred_at = occurred_at + interval '1 second'"
            if POSTGRES_URL
            else "occurred_at = replace(occurred_at, substr(occurred_at, 1, 4), '1999')"
        )
    raw = text(f"SELECT CAST({column} AS TEXT) FROM audit_events WHERE id = :id")
    with db.engine.begin() as conn:
        before = conn.execute(raw, {"id": target.id}).scalar()
        conn.execute(text(f"UPDATE audit_events SET {edit} WHERE id = :id"), {"id": target.id})
        assert conn.execute(raw, {"id": target.id}).scalar() != before, "the edit must change the row"
    with db.read() as session:
        report = verify(session)
    assert not report.ok
    assert report.chain.broken_seq == target.seq, report.describe()


def test_removing_a_row_is_found(tampered_db: Database, routing: Routing) -> None:
    db = tampered_db
    publish_sample(db, routing)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 3"))
    with db.read() as session:
        report = verify(session)
    assert not report.ok and report.chain.broken_seq == 4
    assert "expected event 3" in report.describe()


def test_reordering_rows_is_found(tampered_db: Database, routing: Routing) -> None:
    db = tampered_db
    publish_sample(db, routing)
    with db.engine.begin() as conn:
        # swap the position numbers of two rows, hashes and all
        conn.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 4"))
        conn.execute(text("UPDATE audit_events SET seq = 4 WHERE seq = -1"))
    with db.read() as session:
        report = verify(session)
    assert not report.ok and report.chain.broken_seq in (3, 4)


def test_editing_a_published_version_is_found_even_with_its_hash_recomputed(
    tampered_db: Database, routing: Routing
) -> None:
    db = tampered_db
    publish_sample(db, routing)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE update_versions SET body = 'Nothing happened.' WHERE version = 2"))
    with db.read() as session:
        report = verify(session)
    assert report.chain.ok and not report.ok
    assert "version 2: its content does not match its hash" in report.describe()

    # an attacker who also recomputes the version's own hash is still caught by the audit chain
    from console.domain.updates import content_hash
    from console.models import UpdateVersion

    with db.read() as session:
        version = session.scalars(select(UpdateVersion).where(UpdateVersion.version == 2)).one()
        forged = content_hash(version.update.incident.slug, version.update.seq, version)
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE update_versions SET content_hash = :h WHERE id = :id"),
            {"h": forged, "id": version.id},
        )
    with db.read() as session:
        report = verify(session)
    assert not report.ok
    assert "no audit event records publishing this content" in report.describe()
