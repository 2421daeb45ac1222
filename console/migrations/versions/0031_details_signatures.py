"""signed incident details: details versions and their translations (issue 19)

Every incident details version and details translation is signed when it is written, as update
versions and translations are since `i19_signatures`: the Ed25519 signature of its content hash,
in nullable `signature_kid` and `signature_value` columns. Rows written before this migration
keep NULL: they were never signed.

Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "i19_details_signatures"
down_revision: str | None = "i18_pending_template"

SIGNED_TABLES = ("incident_details_versions", "details_translations")


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): on SQLite the immutability triggers stay as they are.
    for table in SIGNED_TABLES:
        op.add_column(table, sa.Column("signature_kid", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("signature_value", sa.String(length=128), nullable=True))


def downgrade() -> None:
    for table in SIGNED_TABLES:
        op.drop_column(table, "signature_value")
        op.drop_column(table, "signature_kid")
