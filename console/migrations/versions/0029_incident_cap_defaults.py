"""incident CAP defaults (issue 17)

An incident's CAP defaults (urgency, severity, certainty, response types and event, as
canonical JSON text) are one more versioned detail: a nullable `cap_defaults` column on
`incident_details_versions` only. They apply when an update is published (the update stores
them as its own fields), so the incident row does not carry them and its guard is unchanged.
Existing rows have none (NULL), and a details version's hash covers its defaults only when it
has some, so every existing hash still verifies.

Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i17_incident_cap_defaults"
down_revision: str | None = "i18_approver_mail"


def upgrade() -> None:
    # Adding a nullable column keeps the table (and its immutability triggers) on SQLite too.
    op.add_column("incident_details_versions", sa.Column("cap_defaults", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("incident_details_versions", "cap_defaults")
