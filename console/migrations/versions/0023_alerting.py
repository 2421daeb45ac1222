"""per-update CAP fields, instruction and WEA texts (issue 17)

A version's CAP fields (urgency, severity, certainty, response types, event, expires), its
instruction and its Wireless Emergency Alert texts, as canonical JSON text in a nullable
`alerting` column on `update_versions`; a translation's instruction (and Spanish WEA texts) in
one on `translations`. Both tables are immutable under triggers: ADD COLUMN keeps them (on
SQLite too, where the table is not rebuilt). Existing rows have NULL, and a hash covers the
column only when it is set, so every existing hash still verifies.

Create Date: 2026-12-05 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i17_alerting"
down_revision: str | None = "i17_area_subscriptions"


def upgrade() -> None:
    op.add_column("update_versions", sa.Column("alerting", sa.Text(), nullable=True))
    op.add_column("translations", sa.Column("alerting", sa.Text(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN rebuilds an SQLite table, losing its triggers: batch mode is not used, and
    # SQLite >= 3.35 drops a column in place.
    op.drop_column("translations", "alerting")
    op.drop_column("update_versions", "alerting")
