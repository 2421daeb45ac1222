"""templates: holding statements prepared before a crisis (issue 18)

A template's text is in its versions, which the database refuses to change or delete (the
same refusal as update versions); deleting a template only marks it deleted. An update
version names the template version it was written from.

Create Date: 2026-12-05 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations.columns import author_foreign_key, authored, foreign_key, primary_key, unique

revision: str = "i18_templates"
down_revision: str | None = "i13_pins"

VERSIONS = "template_versions"


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(length=100), nullable=True),
        primary_key("templates"),
    )
    op.create_table(
        VERSIONS,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("translations", sa.Text(), nullable=False),
        *authored(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_template_versions_version_positive")),
        author_foreign_key("template_versions"),
        foreign_key(VERSIONS, "template_id", "templates"),
        primary_key(VERSIONS),
        unique(VERSIONS, "template_id", "version"),
    )
    # Plain ADD COLUMN (no table rebuild): the immutability and search triggers stay as they are.
    op.add_column("update_versions", sa.Column("template_version_id", sa.Integer(), nullable=True))
    refuse_changes(VERSIONS)


def downgrade() -> None:
    allow_changes(VERSIONS)
    op.drop_column("update_versions", "template_version_id")
    op.drop_table(VERSIONS)
    op.drop_table("templates")
