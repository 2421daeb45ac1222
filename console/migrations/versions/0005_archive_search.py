"""public archive: full-text index of every incident, indexes for the archive, corrections and audit

The search index holds one document per incident: its title, summary and location, then
the text of every version that brought new words (originals and corrections, and the
reason of every correction and retraction). Database triggers keep it current inside the
transaction that publishes, so a search never disagrees with the record and nothing has to
catch up after a crash. SQLite: an FTS5 table (porter stemming); PostgreSQL: a tsvector
table with a GIN index ('english' configuration). Neither is mapped in the models, so
`console.migrate.include_name` hides them from autogenerate.

Create Date: 2026-11-21 15:00:00
"""

from __future__ import annotations

from alembic import op

from console.migrations import search_index

revision: str = "i7_archive_search"
down_revision: str | None = "i5_feeds_published_index"

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
    version_new = search_index.SQLITE_VERSION_TEXT.format(v="NEW")
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
            UPDATE archive_search SET content = content || char(10) || {version_new}
            WHERE rowid = (SELECT incident_id FROM updates WHERE id = NEW.update_id);
        END
    """)
    # Incidents published before this migration.
    op.execute(f"""
        INSERT INTO archive_search (rowid, heading, content)
        SELECT i.id, {SQLITE_HEADING.format(i="i")}, {search_index.sqlite_versions_text("i.id")}
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
    search_index.postgresql_index_inserts(
        "version",
        "update_versions",
        # Spelled over two lines, as the function's source has always been.
        "to_tsvector(\n                'english', "
        "archive_search_version_text(NEW.kind, NEW.headline, NEW.body, NEW.reason))",
        row_name="update % version %",
        row_values="NEW.update_id, NEW.version",
        when="NEW.kind <> 'confirmation'",
    )
    op.execute(f"""
        INSERT INTO archive_search (incident_id, heading, content)
        SELECT i.id,
               to_tsvector('english', i.title || E'\\n' || i.summary || E'\\n' || i.location),
               {search_index.postgresql_versions_words("i.id")}
        FROM incidents i
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        search_index.postgresql_drop_index_inserts("version", "update_versions")
        op.execute("DROP TRIGGER archive_search_incident ON incidents")
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
