"""The guard on `incidents` rows: the database refuses to delete one, to change its identity
(slug, creation time, creator, id), or to give it details other than its newest details
version's. Migration i13_incident_details installs it; i17_area adds the area to the details.

Frozen like the migrations themselves: a migration must do the same on a new database as it
did on the ones it already ran on, so changing what a function here emits changes history.
Write a new function instead."""

from __future__ import annotations

from alembic import op

REFUSAL = "incidents rows change only through audited details versions"
IDENTITY_CHANGED = {
    "postgresql": "NEW.slug IS DISTINCT FROM OLD.slug OR NEW.created_at IS DISTINCT FROM OLD.created_at "
    "OR NEW.created_by_id IS DISTINCT FROM OLD.created_by_id OR NEW.id IS DISTINCT FROM OLD.id",
    "sqlite": "NEW.slug IS NOT OLD.slug OR NEW.created_at IS NOT OLD.created_at "
    "OR NEW.created_by_id IS NOT OLD.created_by_id OR NEW.id IS NOT OLD.id",
}


def details_differ(details_equal: str) -> str:
    """True when an incident row's details are not its newest details version's (NEW: the
    row); `details_equal` compares them (`d`: the version)."""
    return f"""NOT EXISTS (
    SELECT 1 FROM incident_details_versions d
    WHERE d.incident_id = NEW.id
      AND d.version = (SELECT MAX(v.version) FROM incident_details_versions v WHERE v.incident_id = NEW.id)
      AND {details_equal}
)"""


def postgresql_function(create: str, details_differ: str) -> None:
    """The PostgreSQL function `guard_incident()` (`create`: CREATE FUNCTION, or CREATE OR
    REPLACE FUNCTION to change it) its triggers run."""
    op.execute(f"""
            {create} guard_incident() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{REFUSAL}: DELETE refused'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF {IDENTITY_CHANGED["postgresql"]} OR {details_differ} THEN
                    RAISE EXCEPTION '{REFUSAL}: UPDATE refused'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END $$
        """)


def sqlite_update_trigger(details_differ: str) -> None:
    """SQLite's trigger `incidents_guarded`, which refuses an UPDATE."""
    op.execute(
        "CREATE TRIGGER incidents_guarded BEFORE UPDATE ON incidents "
        f"WHEN {IDENTITY_CHANGED['sqlite']} OR {details_differ} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END"
    )
