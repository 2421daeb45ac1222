"""incident details versions (issue 13.5)

An incident's title, summary, location, category and alert status are versioned like update
texts: each change is a new, immutable `incident_details_versions` row with its author, time
and reason, announced through the outbox and recorded in the audit chain. Every existing
incident gets its version 1 from the fields it has now (the `incident.created` audit event
recorded them).

Incident rows get the protection versions have (issue 14.1): the database refuses to DELETE
one, to change its slug, creation time or creator, and to give it details (title, summary,
location, category, alert status) other than its newest details version's, so they change
only through an audited details version. Status changes (resolve, reopen) stay possible;
`console audit verify` checks them against their audit events.

Create Date: 2026-12-05 03:45:00
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations import incident_guard
from console.migrations.columns import author_foreign_key, authored, enum, foreign_key, primary_key, unique

revision: str = "i13_incident_details"
down_revision: str | None = "i16_subscriptions"

TABLE = "incident_details_versions"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("alert_status", enum("actual", "exercise", "test", name="alert_status"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        *authored(),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "version = 1 OR reason IS NOT NULL", name=op.f("ck_incident_details_versions_reason_after_first")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_incident_details_versions_version_positive")),
        author_foreign_key("incident_details_versions"),
        foreign_key(TABLE, "incident_id", "incidents"),
        primary_key(TABLE),
        unique(TABLE, "incident_id", "version"),
    )
    _backfill_first_versions()
    refuse_changes(TABLE)
    _guard_incidents()


def _iso(moment: datetime) -> str:
    # console.domain.canonical.iso, copied: a migration must not change when the app does.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(slug: str, version: int, row: sa.Row, published_at: datetime) -> str:  # type: ignore[type-arg]
    # console.domain.incident_details.details_hash, copied for the same reason.
    fields = {
        "incident": slug,
        "version": version,
        "title": row.title,
        "summary": row.summary,
        "location": row.location,
        "category": row.category,
        "alert_status": row.alert_status,
        "reason": None,
        "author": row.author_name,
        "published_at": _iso(published_at),
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _backfill_first_versions() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT i.id, i.slug, i.title, i.summary, i.location, i.category, i.alert_status, "
            "i.created_at, i.created_by_id, COALESCE(u.display_name, 'system') AS author_name "
            "FROM incidents i LEFT JOIN users u ON u.id = i.created_by_id ORDER BY i.id"
        )
    ).all()
    table = sa.table(
        TABLE,
        *(sa.column(name) for name in ("incident_id", "version", "title", "summary", "location")),
        *(sa.column(name) for name in ("category", "alert_status", "reason", "author_id", "author_name")),
        sa.column("published_at", sa.DateTime(timezone=True)),
        sa.column("content_hash"),
    )
    for row in rows:
        created_at = row.created_at
        if isinstance(created_at, str):  # SQLite hands back text
            created_at = datetime.fromisoformat(created_at)
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        stored_at = created_at.replace(tzinfo=None) if bind.dialect.name == "sqlite" else created_at
        op.execute(
            table.insert().values(
                incident_id=row.id,
                version=1,
                title=row.title,
                summary=row.summary,
                location=row.location,
                category=row.category,
                alert_status=row.alert_status,
                reason=None,
                author_id=row.created_by_id,
                author_name=row.author_name,
                published_at=stored_at,
                content_hash=_hash(row.slug, 1, row, created_at),
            )
        )


# An incident row's details equal a details version's (`d`), over two lines in the SQL.
_DETAILS_EQUAL = (
    "d.title = NEW.title AND d.summary = NEW.summary AND d.location = NEW.location\n"
    "      AND d.category = NEW.category AND d.alert_status = NEW.alert_status"
)


def _guard_incidents() -> None:
    details_differ = incident_guard.details_differ(_DETAILS_EQUAL)
    if op.get_bind().dialect.name == "postgresql":
        incident_guard.postgresql_function("CREATE FUNCTION", details_differ)
        op.execute(
            "CREATE TRIGGER incidents_guarded BEFORE UPDATE OR DELETE ON incidents "
            "FOR EACH ROW EXECUTE FUNCTION guard_incident()"
        )
        op.execute(
            "CREATE TRIGGER incidents_no_truncate BEFORE TRUNCATE ON incidents "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
        return
    op.execute(
        "CREATE TRIGGER incidents_no_delete BEFORE DELETE ON incidents "
        f"BEGIN SELECT RAISE(ABORT, '{incident_guard.REFUSAL}: DELETE refused'); END"
    )
    incident_guard.sqlite_update_trigger(details_differ)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER incidents_no_truncate ON incidents")
        op.execute("DROP TRIGGER incidents_guarded ON incidents")
        op.execute("DROP FUNCTION guard_incident()")
    else:
        op.execute("DROP TRIGGER incidents_guarded")
        op.execute("DROP TRIGGER incidents_no_delete")
    allow_changes(TABLE)
    op.drop_table(TABLE)
