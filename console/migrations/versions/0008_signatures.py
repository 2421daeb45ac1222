"""signatures: every version and translation carries the agency's Ed25519 signature

The signature (of the row's content hash) is written with the row, in the publishing
transaction; rows stay immutable, so a key rotation never re-signs history. Rows published
before this migration keep NULL: they were never signed.

Revision ID: i19_signatures
Revises: i9_idempotency_keys
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i19_signatures"
down_revision: str | None = "i9_idempotency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNED_TABLES = ("update_versions", "translations")


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): the immutability and search triggers stay as they are.
    for table in SIGNED_TABLES:
        op.add_column(table, sa.Column("signature_kid", sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column("signature_value", sa.String(length=128), nullable=True))


def downgrade() -> None:
    for table in SIGNED_TABLES:
        op.drop_column(table, "signature_value")
        op.drop_column(table, "signature_kid")
