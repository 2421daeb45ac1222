"""archive search: translations of updates are in the search index (issue 13.2)

Every translation's headline and body joins its incident's document, as each version's text
does, so a reader searching in Spanish finds the incident whose update was translated into
Spanish. Translations are never changed or deleted (a fix is a new row), so a trigger on
insert keeps the index current, in the transaction that adds the translation. The words are
indexed with the same configuration as the rest (English stemming): a query goes through the
same stemming, so it finds the words it would find in English text.

Create Date: 2026-12-05 18:20:00
"""

from __future__ import annotations

from alembic import op

from console.migrations import search_index

revision: str = "i13_search_translations"
down_revision: str | None = "i16_push"

SQLITE_TRANSLATION_TEXT = "coalesce({t}.headline, '') || char(10) || {t}.body"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()


def _sqlite_upgrade() -> None:
    op.execute(f"""
        CREATE TRIGGER archive_search_translation_insert AFTER INSERT ON translations BEGIN
            UPDATE archive_search
            SET content = content || char(10) || {SQLITE_TRANSLATION_TEXT.format(t="NEW")}
            WHERE rowid = (SELECT incident_id FROM updates WHERE id = NEW.update_id);
        END
    """)
    # Translations added before this migration.
    op.execute(f"""
        UPDATE archive_search SET content = content || char(10) || (
            SELECT group_concat({SQLITE_TRANSLATION_TEXT.format(t="t")}, char(10))
            FROM translations t JOIN updates u ON u.id = t.update_id
            WHERE u.incident_id = archive_search.rowid
        )
        WHERE rowid IN (
            SELECT u.incident_id FROM translations t JOIN updates u ON u.id = t.update_id
        )
    """)


def _postgresql_upgrade() -> None:
    search_index.postgresql_index_inserts(
        "translation",
        "translations",
        "to_tsvector('english', coalesce(NEW.headline, '') || E'\\n' || NEW.body)",
        row_name="translation %",
        row_values="NEW.id",
    )
    op.execute("""
        UPDATE archive_search SET content = archive_search.content || translated.words
        FROM (
            SELECT u.incident_id, to_tsvector('english', string_agg(
                coalesce(t.headline, '') || E'\\n' || t.body, E'\\n' ORDER BY t.id)) AS words
            FROM translations t JOIN updates u ON u.id = t.update_id
            GROUP BY u.incident_id
        ) AS translated
        WHERE archive_search.incident_id = translated.incident_id
    """)


def downgrade() -> None:
    # The index goes back to what `i7_archive_search` keeps: the versions' text only.
    if op.get_bind().dialect.name == "postgresql":
        search_index.postgresql_drop_index_inserts("translation", "translations")
        versions_words = search_index.postgresql_versions_words("archive_search.incident_id")
        op.execute(f"UPDATE archive_search SET content = {versions_words}")
    else:
        op.execute("DROP TRIGGER archive_search_translation_insert")
        versions_text = search_index.sqlite_versions_text("archive_search.rowid")
        op.execute(f"UPDATE archive_search SET content = {versions_text}")
