"""media: images attached to update versions, with alt text (issue 18)

`media_files` holds one row per stored image file (content-addressed under MEDIA_DIR: an
upload and its narrower copies for the pages); `version_media` the images of an update version
in order, each with the alt text published with it; `translations.media_alt` the alt text in
a translation's language (JSON list, NULL for every existing row). Both new tables are published
history: the database
refuses to change or delete their rows. No existing row changes, and a version's content hash
covers its images only when it has some, so every existing hash still verifies.

Create Date: 2026-12-05 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.immutable_tables import allow_changes, refuse_changes
from console.migrations.columns import foreign_key, primary_key, unique

revision: str = "i18_media"
down_revision: str | None = "i17_alerting"

FILES = "media_files"
VERSION_MEDIA = "version_media"


def upgrade() -> None:
    op.create_table(
        FILES,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("extension", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("variant_of_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key(FILES, "uploaded_by_id", "users"),
        foreign_key(FILES, "variant_of_id", "media_files"),
        primary_key(FILES),
        unique(FILES, "sha256"),
    )
    op.create_index(op.f("ix_media_files_variant_of_id"), FILES, ["variant_of_id"], unique=False)
    op.create_table(
        VERSION_MEDIA,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("alt", sa.Text(), nullable=False),
        foreign_key(VERSION_MEDIA, "media_id", "media_files"),
        foreign_key(VERSION_MEDIA, "version_id", "update_versions"),
        primary_key(VERSION_MEDIA),
        unique(VERSION_MEDIA, "version_id", "position"),
    )
    op.create_index(op.f("ix_version_media_version_id"), VERSION_MEDIA, ["version_id"], unique=False)
    refuse_changes(FILES)
    refuse_changes(VERSION_MEDIA)
    # Adding a nullable column keeps the table (and its immutability triggers) on SQLite too.
    op.add_column("translations", sa.Column("media_alt", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("translations", "media_alt")
    allow_changes(VERSION_MEDIA)
    allow_changes(FILES)
    op.drop_index(op.f("ix_version_media_version_id"), table_name=VERSION_MEDIA)
    op.drop_table(VERSION_MEDIA)
    op.drop_index(op.f("ix_media_files_variant_of_id"), table_name=FILES)
    op.drop_table(FILES)
