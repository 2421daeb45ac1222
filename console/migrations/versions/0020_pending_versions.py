"""pending versions: text waiting for a second person's approval (issue 18)

With APPROVAL_REQUIRED a PIO's publish is kept here until another PIO or an admin approves it
(then it is published as a new update version, in the approver's transaction) or returns it.
A table of its own: published versions stay immutable and gap-free.

Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import author_foreign_key, foreign_key, primary_key

revision: str = "i18_approval"
down_revision: str | None = "i13_search_translations"


def upgrade() -> None:
    op.create_table(
        "pending_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("translations", sa.Text(), nullable=False),
        sa.Column("preliminary", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("corrects_version", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        author_foreign_key("pending_versions"),
        foreign_key("pending_versions", "decided_by_id", "users"),
        foreign_key("pending_versions", "incident_id", "incidents"),
        foreign_key("pending_versions", "update_id", "updates"),
        primary_key("pending_versions"),
    )
    op.create_index(
        op.f("ix_pending_versions_incident_id"), "pending_versions", ["incident_id"], unique=False
    )
    op.create_index(op.f("ix_pending_versions_state"), "pending_versions", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_versions_state"), table_name="pending_versions")
    op.drop_index(op.f("ix_pending_versions_incident_id"), table_name="pending_versions")
    op.drop_table("pending_versions")
