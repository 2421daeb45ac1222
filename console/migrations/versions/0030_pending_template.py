"""a pending version names the template version it was written from (issue 18)

A version written from a template and kept for approval names that template version, so the
version published when it is approved records it (`update_versions.template_version_id`) as
one published at once does. A nullable integer, like `update_versions.template_version_id`,
added without rebuilding the table.

Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i18_pending_template"
down_revision: str | None = "i17_incident_cap_defaults"


def upgrade() -> None:
    op.add_column("pending_versions", sa.Column("template_version_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("pending_versions", "template_version_id")
