"""approver mail: approvers emailed when a version waits for approval or is published without it
(issue 18)

`approval_notices` holds what approvers are told (a pending version waits, or a version was
published with an emergency bypass, and the reason), each linked to its staff-only outbox event
(`approval.requested` or `approval.bypassed`, which names no incident, so no public page lists
it); `approval_notice_recipients` one row per approver emailed, marked sent once the mail server
took it. No existing row changes.

Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import author_foreign_key, authored, foreign_key, primary_key, unique

revision: str = "i18_approver_mail"
down_revision: str | None = "i18_media_prune"

NOTICES = "approval_notices"
RECIPIENTS = "approval_notice_recipients"


def upgrade() -> None:
    op.create_table(
        NOTICES,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("pending_version_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=False),
        *authored(),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        author_foreign_key("approval_notices"),
        foreign_key(NOTICES, "event_id", "outbox_events"),
        foreign_key(NOTICES, "incident_id", "incidents"),
        foreign_key(NOTICES, "pending_version_id", "pending_versions"),
        foreign_key(NOTICES, "version_id", "update_versions"),
        primary_key(NOTICES),
        unique(NOTICES, "event_id"),
    )
    op.create_index(op.f("ix_approval_notices_incident_id"), NOTICES, ["incident_id"], unique=False)
    op.create_table(
        RECIPIENTS,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            [f"{NOTICES}.id"],
            name=op.f("fk_approval_notice_recipients_notice_id_approval_notices"),
        ),
        foreign_key(RECIPIENTS, "user_id", "users"),
        primary_key(RECIPIENTS),
        unique(RECIPIENTS, "notice_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table(RECIPIENTS)
    op.drop_index(op.f("ix_approval_notices_incident_id"), table_name=NOTICES)
    op.drop_table(NOTICES)
