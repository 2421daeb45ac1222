"""pending versions keep their alerting fields and images (issues 17 and 18)

A version that waits for approval stores what it was sent with, so the approver sees it and it
is published with it: `alerting` (canonical JSON of the sent CAP fields, instruction and WEA
texts; NULL when none) and `media` (JSON list of {"id", "alt"}; NULL when none was sent, which
keeps a corrected update's current images). Translations already live as JSON in the row and
now carry their instruction, WEA texts and alt texts there. Existing rows are unchanged.

Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i18_pending_alerting"
down_revision: str | None = "i18_media"


def upgrade() -> None:
    with op.batch_alter_table("pending_versions") as batch:
        batch.add_column(sa.Column("alerting", sa.Text(), nullable=True))
        batch.add_column(sa.Column("media", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_versions") as batch:
        batch.drop_column("media")
        batch.drop_column("alerting")
