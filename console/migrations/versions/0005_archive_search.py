"""public archive: full-text index of every incident, indexes for the archive, corrections and audit

The search index holds one document per incident: its title, summary and location, then
the text of every version that brought new words (originals and corrections, and the
reason of every correction and retraction). Database triggers keep it current inside the
transaction that publishes, so a search never disagrees with the record and nothing has to
catch up after a crash. SQLite: an FTS5 table (porter stemming); PostgreSQL: a tsvector
table with a GIN index ('english' configuration). Neither is mapped in the models, so
`console.migrate.include_name` hides them from autogenerate.

Revision ID: i7_archive_search
Revises: i5_feeds_published_index
Create Date: 2026-11-21 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "i7_archive_search"
down_revision: str | None = "i5_feeds_published_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a version adds to its incident's document: new text for originals and corrections,
# the stated reason for corrections and retractions (a confirmation repeats the text).
SQLITE_VERSION_TEXT = (
    "CASE WHEN {v}.kind IN ('original', 'correction') "
    "THEN coalesce({v}.headline, '') || char(10) || {v}.body || char(10) ELSE '' END "
    "|| coalesce({v}.reason, '')"
)
SQLITE_HEADING = "{i}.title || char(10) || {i}.summary || char(10) || {i}.location"


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_incidents_category_created_at", ["category", "created_at"], unique=False)
    with op.batch_alter_table("update_versions", schema=None) as batch_op:
        batch_op.create_index("ix_update_versions_kind_published_at", ["kind", "published_at"], unique=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_occurred_at", ["occurred_at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        _postgresql_search()
    else:
        _sqlite_search()


def _sqlite_search() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE archive_search USING fts5("
        "heading, content, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    heading_new = SQLITE_HEADING.format(i="NEW")
    op.execute(f"""
        CREATE TRIGGER archive_search_incident_insert AFTER INSERT ON incidents BEGIN
            INSERT INTO archive_search (rowid, heading, content) VALUES (NEW.id, {heading_new}, '');
        END
    """)
    op.execute(f"""
        CREATE TRIGGER archive_search_incident_update AFTER UPDATE OF title, summary, location ON incidents
        BEGIN
            UPDATE archive_search SET heading = {heading_new} WHERE rowid = NEW.id;
        END
    """)
    op.execute("""
        CREATE TRIGGER archive_search_incident_delete AFTER DELETE ON incidents BEGIN
            DELETE FROM archive_search WHERE rowid = OLD.id;
        END
    """)
    op.execute(f"""
        CREATE TRIGGER archive_search_version_insert AFTER INSERT ON update_versions
        WHEN NEW.kind <> 'confirmation' BEGIN
            UPDATE archive_search SET content = content || char(10) || {SQLITE_VERSION_TEXT.format(v="NEW")}
            WHERE rowid = (SELECT incident_id FROM updates WHERE id = NEW.update_id);
        END
    """)
    # Incidents published before this migration.
    op.execute(f"""
        INSERT INTO archive_search (rowid, heading, content)
        SELECT i.id, {SQLITE_HEADING.format(i="i")}, coalesce((
            SELECT group_concat({SQLITE_VERSION_TEXT.format(v="v")}, char(10))
            FROM update_versions v JOIN updates u ON u.id = v.update_id
            WHERE u.incident_id = i.id AND v.kind <> 'confirmation'
        ), '')
        FROM incidents i
    """)


def _postgresql_search() -> None:
    op.execute("""
        CREATE TABLE archive_search (
            incident_id integer PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
            heading tsvector NOT NULL DEFAULT ''::tsvector,
            content tsvector NOT NULL DEFAULT ''::tsvector
        )
    """)
    op.execute("CREATE INDEX archive_search_document ON archive_search USING gin ((heading || content))")
    op.execute("""
        CREATE FUNCTION archive_search_version_text(kind text, headline text, body text, reason text)
        RETURNS text LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE WHEN kind IN ('original', 'correction')
                        THEN coalesce(headline, '') || E'\\n' || body || E'\\n' ELSE '' END
                   || coalesce(reason, '')
        $$
    """)
    op.execute("""
        CREATE FUNCTION archive_search_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO archive_search (incident_id, heading)
            VALUES (NEW.id, to_tsvector(
                'english', NEW.title || E'\\n' || NEW.summary || E'\\n' || NEW.location))
            ON CONFLICT (incident_id) DO UPDATE SET heading = EXCLUDED.heading;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER archive_search_incident AFTER INSERT OR UPDATE OF title, summary, location
        ON incidents FOR EACH ROW EXECUTE FUNCTION archive_search_incident_changed()
    """)
    # A tsvector holds at most 1 MB. An incident that outgrows it keeps its words without
    # positions, and past that loses search on new text, with a warning in the server log:
    # publishing must never fail because of the search index.
    op.execute("""
        CREATE FUNCTION archive_search_version_added() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            added tsvector := to_tsvector(
                'english', archive_search_version_text(NEW.kind, NEW.headline, NEW.body, NEW.reason));
            owner integer := (SELECT incident_id FROM updates WHERE id = NEW.update_id);
        BEGIN
            BEGIN
                UPDATE archive_search SET content = content || added WHERE incident_id = owner;
            EXCEPTION WHEN program_limit_exceeded THEN
                BEGIN
                    UPDATE archive_search SET content = strip(content) || strip(added)
                    WHERE incident_id = owner;
                EXCEPTION WHEN program_limit_exceeded THEN
                    RAISE WARNING 'archive search: incident % is too large to index update % version %',
                        owner, NEW.update_id, NEW.version;
                END;
            END;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER archive_search_version AFTER INSERT ON update_versions
        FOR EACH ROW WHEN (NEW.kind <> 'confirmation') EXECUTE FUNCTION archive_search_version_added()
    """)
    op.execute("""
        INSERT INTO archive_search (incident_id, heading, content)
        SELECT i.id,
               to_tsvector('english', i.title || E'\\n' || i.summary || E'\\n' || i.location),
               coalesce((
                   SELECT to_tsvector('english', string_agg(
                       archive_search_version_text(v.kind, v.headline, v.body, v.reason), E'\\n'
                       ORDER BY v.id))
                   FROM update_versions v JOIN updates u ON u.id = v.update_id
                   WHERE u.incident_id = i.id AND v.kind <> 'confirmation'
               ), ''::tsvector)
        FROM incidents i
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER archive_search_version ON update_versions")
        op.execute("DROP TRIGGER archive_search_incident ON incidents")
        op.execute("DROP FUNCTION archive_search_version_added()")
        op.execute("DROP FUNCTION archive_search_incident_changed()")
        op.execute("DROP FUNCTION archive_search_version_text(text, text, text, text)")
        op.execute("DROP TABLE archive_search")
    else:
        for trigger in ("incident_insert", "incident_update", "incident_delete", "version_insert"):
            op.execute(f"DROP TRIGGER archive_search_{trigger}")
        op.execute("DROP TABLE archive_search")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_occurred_at")
    with op.batch_alter_table("update_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_update_versions_kind_published_at")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_category_created_at")
        batch_op.drop_index("ix_incidents_created_at")
