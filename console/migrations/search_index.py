"""The archive search index's SQL that more than one migration runs: i7_archive_search builds
the index from the versions, i13_search_translations adds the translations to it.

Frozen like the migrations themselves: a migration must do the same on a new database as it
did on the ones it already ran on, so changing what a function here emits changes history.
Write a new function instead."""

from __future__ import annotations

from alembic import op

# What a version adds to its incident's SQLite document: new text for originals and
# corrections, the stated reason for corrections and retractions (a confirmation repeats the
# text). `{v}` names the version row.
SQLITE_VERSION_TEXT = (
    "CASE WHEN {v}.kind IN ('original', 'correction') "
    "THEN coalesce({v}.headline, '') || char(10) || {v}.body || char(10) ELSE '' END "
    "|| coalesce({v}.reason, '')"
)


def sqlite_versions_text(incident: str) -> str:
    """The text all versions of an incident (`incident`: its id) give its SQLite document."""
    return f"""coalesce((
            SELECT group_concat({SQLITE_VERSION_TEXT.format(v="v")}, char(10))
            FROM update_versions v JOIN updates u ON u.id = v.update_id
            WHERE u.incident_id = {incident} AND v.kind <> 'confirmation'
        ), '')"""


def postgresql_versions_words(incident: str) -> str:
    """The words all versions of an incident (`incident`: its id) give its PostgreSQL document."""
    return f"""coalesce((
            SELECT to_tsvector('english', string_agg(
                archive_search_version_text(v.kind, v.headline, v.body, v.reason), E'\\n'
                ORDER BY v.id))
            FROM update_versions v JOIN updates u ON u.id = v.update_id
            WHERE u.incident_id = {incident} AND v.kind <> 'confirmation'
        ), ''::tsvector)"""


def postgresql_index_inserts(
    rows: str, table: str, added: str, row_name: str, row_values: str, when: str = ""
) -> None:
    """A trigger `archive_search_{rows}` (and its function `archive_search_{rows}_added()`) that
    adds the words of each row inserted into `table` (`added`: a tsvector of NEW, which has an
    `update_id`) to its incident's document, for the rows `when` selects (all by default).

    A tsvector holds at most 1 MB. An incident that outgrows it keeps its words without
    positions, and past that loses search on new text, with a warning in the server log:
    publishing must never fail because of the search index. The warning names the row:
    `row_name` is its format (such as "translation %"), `row_values` the values."""
    op.execute(f"""
        CREATE FUNCTION archive_search_{rows}_added() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            added tsvector := {added};
            owner integer := (SELECT incident_id FROM updates WHERE id = NEW.update_id);
        BEGIN
            BEGIN
                UPDATE archive_search SET content = content || added WHERE incident_id = owner;
            EXCEPTION WHEN program_limit_exceeded THEN
                BEGIN
                    UPDATE archive_search SET content = strip(content) || strip(added)
                    WHERE incident_id = owner;
                EXCEPTION WHEN program_limit_exceeded THEN
                    RAISE WARNING 'archive search: incident % is too large to index {row_name}',
                        owner, {row_values};
                END;
            END;
            RETURN NULL;
        END $$
    """)
    op.execute(f"""
        CREATE TRIGGER archive_search_{rows} AFTER INSERT ON {table}
        FOR EACH ROW {f"WHEN ({when}) " if when else ""}EXECUTE FUNCTION archive_search_{rows}_added()
    """)


def postgresql_drop_index_inserts(rows: str, table: str) -> None:
    """Undoes `postgresql_index_inserts` (for a downgrade)."""
    op.execute(f"DROP TRIGGER archive_search_{rows} ON {table}")
    op.execute(f"DROP FUNCTION archive_search_{rows}_added()")
