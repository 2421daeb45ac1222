"""uploads never attached may be deleted (issue 18, `console media prune`)

`media_files` refused every DELETE (migration 0024). An upload no version shows is not
published history, so the database now refuses only deleting a row that a version shows: an
upload in `version_media`, or a narrower copy of one. UPDATE and TRUNCATE stay refused. The
trigger names stay (`media_files_no_delete` on SQLite, `media_files_immutable` on PostgreSQL).

Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from alembic import op

revision: str = "i18_media_prune"
down_revision: str | None = "i18_template_alerting"

ATTACHED = (
    "EXISTS (SELECT 1 FROM version_media WHERE version_media.media_id = OLD.id "
    "OR version_media.media_id = OLD.variant_of_id)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION refuse_media_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND NOT {ATTACHED} THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
        """)
        op.execute("DROP TRIGGER media_files_immutable ON media_files")
        op.execute(
            "CREATE TRIGGER media_files_immutable BEFORE UPDATE OR DELETE ON media_files "
            "FOR EACH ROW EXECUTE FUNCTION refuse_media_change()"
        )
        return
    op.execute("DROP TRIGGER media_files_no_delete")
    op.execute(
        f"CREATE TRIGGER media_files_no_delete BEFORE DELETE ON media_files WHEN {ATTACHED} "
        "BEGIN SELECT RAISE(ABORT, 'media_files rows are immutable: DELETE refused'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER media_files_immutable ON media_files")
        op.execute(
            "CREATE TRIGGER media_files_immutable BEFORE UPDATE OR DELETE ON media_files "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute("DROP FUNCTION refuse_media_change()")
        return
    op.execute("DROP TRIGGER media_files_no_delete")
    op.execute(
        "CREATE TRIGGER media_files_no_delete BEFORE DELETE ON media_files "
        "BEGIN SELECT RAISE(ABORT, 'media_files rows are immutable: DELETE refused'); END"
    )
