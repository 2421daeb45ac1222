"""subscriber location (issue 17): alerts only for a point or a ZIP code

A resident may give a point (`area_lat`, `area_lon`, WGS 84) or a ZIP code (`area_zip`, 5
digits) and get only the alerts of incidents whose area holds the point or names the ZIP
code. All three are nullable: existing subscribers keep getting every alert they asked for.

Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i17_area_subscriptions"
down_revision: str | None = "i17_area"


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("area_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("area_lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("area_zip", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("area_zip")
        batch.drop_column("area_lon")
        batch.drop_column("area_lat")
