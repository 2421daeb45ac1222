"""signatures and rumor control: signed versions and translations, rumor responses

The signature (of the row's content hash) is written with the row, in the publishing
transaction; rows stay immutable, so a key rotation never re-signs history. Rows published
before this migration keep NULL: they were never signed.

Rumor responses (`rumors`, `rumor_versions`, `rumor_translations`) are immutable like
versions, and go out through the outbox as `rumor.published` events, which may belong to no
incident (agency-wide): `outbox_events.incident_id` becomes nullable and gains
`rumor_version_id`.

Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations.columns import author_foreign_key, authored, enum, foreign_key, primary_key, unique

revision: str = "i19_signatures"
down_revision: str | None = "i13_social_runs"

SIGNED_TABLES = ("update_versions", "translations")


RUMOR_TABLES = ("rumor_versions", "rumor_translations")


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): the immutability and search triggers stay as they are.
    for table in SIGNED_TABLES:
        op.add_column(table, sa.Column("signature_kid", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("signature_value", sa.String(length=128), nullable=True))
    op.create_table(
        "rumors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key("rumors", "incident_id", "incidents"),
        primary_key("rumors"),
    )
    with op.batch_alter_table("rumors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rumors_incident_id"), ["incident_id"], unique=False)
    op.create_table(
        "rumor_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rumor_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", enum("original", "correction", name="rumor_kind"), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.String(length=300), nullable=True),
        sa.Column("verdict", enum("false", "unconfirmed", "true", name="verdict"), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        *authored(),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signature_kid", sa.String(length=64), nullable=False),
        sa.Column("signature_value", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "version = 1 OR reason IS NOT NULL", name=op.f("ck_rumor_versions_reason_after_first")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_rumor_versions_version_positive")),
        author_foreign_key("rumor_versions"),
        foreign_key("rumor_versions", "rumor_id", "rumors"),
        primary_key("rumor_versions"),
        unique("rumor_versions", "rumor_id", "version"),
    )
    with op.batch_alter_table("rumor_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rumor_versions_published_at"), ["published_at"], unique=False)
    op.create_table(
        "rumor_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rumor_version_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=35), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        *authored(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signature_kid", sa.String(length=64), nullable=False),
        sa.Column("signature_value", sa.String(length=128), nullable=False),
        author_foreign_key("rumor_translations"),
        foreign_key("rumor_translations", "rumor_version_id", "rumor_versions"),
        primary_key("rumor_translations"),
    )
    with op.batch_alter_table("rumor_translations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rumor_translations_rumor_version_id"), ["rumor_version_id"], unique=False
        )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rumor_version_id", sa.Integer(), nullable=True))
        batch_op.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_outbox_events_rumor_version_id"), ["rumor_version_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_events_rumor_version_id_rumor_versions"),
            "rumor_versions",
            ["rumor_version_id"],
            ["id"],
        )
    for table in RUMOR_TABLES:
        refuse_changes(table)


def downgrade() -> None:
    for table in RUMOR_TABLES:
        allow_changes(table)
    op.execute(
        "DELETE FROM deliveries WHERE event_id IN "
        "(SELECT id FROM outbox_events WHERE type = 'rumor.published')"
    )
    op.execute("DELETE FROM outbox_events WHERE type = 'rumor.published'")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_events_rumor_version_id_rumor_versions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_events_rumor_version_id"))
        batch_op.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("rumor_version_id")
    with op.batch_alter_table("rumor_translations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rumor_translations_rumor_version_id"))
    op.drop_table("rumor_translations")
    with op.batch_alter_table("rumor_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rumor_versions_published_at"))
    op.drop_table("rumor_versions")
    with op.batch_alter_table("rumors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rumors_incident_id"))
    op.drop_table("rumors")
    for table in SIGNED_TABLES:
        op.drop_column(table, "signature_value")
        op.drop_column(table, "signature_kid")
