"""a template's CAP defaults and instruction (issue 18)

A nullable `alerting` column on `template_versions`: the CAP fields (urgency, severity,
certainty, response types, event) and the instruction an update published from the template
starts with, as canonical JSON like `update_versions.alerting`. Translated instructions live in
the version's `translations` JSON. Existing versions have NULL: they set none.

Create Date: 2026-12-06 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i18_template_alerting"
down_revision: str | None = "i18_pending_alerting"


def upgrade() -> None:
    # ADD COLUMN keeps the table's triggers (template versions are immutable), on SQLite too.
    op.add_column("template_versions", sa.Column("alerting", sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (no rebuild, so the triggers stay).
    op.drop_column("template_versions", "alerting")
