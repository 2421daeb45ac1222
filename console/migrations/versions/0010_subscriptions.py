"""subscriptions (issue 16): subscribers, fan-out jobs and per-subscriber alert deliveries

`subscribers` holds residents' email addresses (double opt-in; the address is deleted on
unsubscribe, a keyed hash kept) and partners' webhook endpoints. `fanout_jobs` has one row per
(event, alert channel) with its cursor and counts; `alert_deliveries` one per (event,
subscriber), unique, so nobody is sent the same event twice.

Create Date: 2026-12-05 03:40:26.723560
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations.columns import enum

revision: str = "i16_subscriptions"
down_revision: str | None = "i19_signatures"


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", enum("email", "webhook", name="alert_channel"), nullable=False),
        sa.Column("address", sa.String(length=2000), nullable=True),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("lang", sa.String(length=35), nullable=False),
        sa.Column(
            "status", enum("pending", "confirmed", "unsubscribed", name="subscriber_status"), nullable=False
        ),
        sa.Column("confirm_token_hash", sa.String(length=64), nullable=True),
        sa.Column("unsubscribe_token_hash", sa.String(length=64), nullable=True),
        sa.Column("confirmation_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_subscribers_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscribers")),
        sa.UniqueConstraint("confirm_token_hash", name=op.f("uq_subscribers_confirm_token_hash")),
        sa.UniqueConstraint("unsubscribe_token_hash", name=op.f("uq_subscribers_unsubscribe_token_hash")),
    )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscribers_address_hash"), ["address_hash"], unique=False)
        batch_op.create_index("ix_subscribers_channel_status_id", ["channel", "status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subscribers_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "fanout_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("channel", enum("email", "webhook", name="alert_channel"), nullable=False),
        sa.Column("state", enum("running", "done", name="fanout_state"), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_events.id"], name=op.f("fk_fanout_jobs_event_id_outbox_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanout_jobs")),
        sa.UniqueConstraint("event_id", "channel", name=op.f("uq_fanout_jobs_event_id_channel")),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            enum("queued", "sending", "sent", "failed", "unknown", name="alert_state"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_events.id"], name=op.f("fk_alert_deliveries_event_id_outbox_events")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["fanout_jobs.id"], name=op.f("fk_alert_deliveries_job_id_fanout_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["subscribers.id"], name=op.f("fk_alert_deliveries_subscriber_id_subscribers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint(
            "event_id", "subscriber_id", name=op.f("uq_alert_deliveries_event_id_subscriber_id")
        ),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_deliveries_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_deliveries_subscriber_id"), ["subscriber_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_subscriber_id"))
        batch_op.drop_index(batch_op.f("ix_alert_deliveries_job_id"))

    op.drop_table("alert_deliveries")
    op.drop_table("fanout_jobs")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscribers_incident_id"))
        batch_op.drop_index("ix_subscribers_channel_status_id")
        batch_op.drop_index(batch_op.f("ix_subscribers_address_hash"))

    op.drop_table("subscribers")
