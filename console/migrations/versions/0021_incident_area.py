"""incident area (issue 17)

An incident's mapped area (polygons, circles, geocodes and a description, as canonical JSON
text) is one more versioned detail: a nullable `area` column on `incident_details_versions`
and on `incidents`, which carries the newest version's. The guard of migration
i13_incident_details is extended so the database still refuses an incident whose area is not
its newest details version's. Existing rows have no area (NULL), and a details version's hash
covers its area only when it has one, so every existing hash still verifies.

Revision ID: i17_area
Revises: i18_approval
Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i17_area"
down_revision: str | None = "i18_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from i13_incident_details (a migration must not change when another does), with or
# without the area comparison.
_FIELDS_EQUAL = (
    "d.title = NEW.title AND d.summary = NEW.summary AND d.location = NEW.location "
    "AND d.category = NEW.category AND d.alert_status = NEW.alert_status"
)
_AREA_EQUAL = {
    "postgresql": " AND d.area IS NOT DISTINCT FROM NEW.area",
    "sqlite": " AND d.area IS NEW.area",
}
_IDENTITY_CHANGED = {
    "postgresql": "NEW.slug IS DISTINCT FROM OLD.slug OR NEW.created_at IS DISTINCT FROM OLD.created_at "
    "OR NEW.created_by_id IS DISTINCT FROM OLD.created_by_id OR NEW.id IS DISTINCT FROM OLD.id",
    "sqlite": "NEW.slug IS NOT OLD.slug OR NEW.created_at IS NOT OLD.created_at "
    "OR NEW.created_by_id IS NOT OLD.created_by_id OR NEW.id IS NOT OLD.id",
}
INCIDENT_REFUSAL = "incidents rows change only through audited details versions"


def _details_differ(dialect: str, with_area: bool) -> str:
    # True when an incident row's details are not its newest details version's (NEW: the row).
    return f"""NOT EXISTS (
    SELECT 1 FROM incident_details_versions d
    WHERE d.incident_id = NEW.id
      AND d.version = (SELECT MAX(v.version) FROM incident_details_versions v WHERE v.incident_id = NEW.id)
      AND {_FIELDS_EQUAL}{_AREA_EQUAL[dialect] if with_area else ""}
)"""


def _guard(with_area: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION guard_incident() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{INCIDENT_REFUSAL}: DELETE refused'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                IF {_IDENTITY_CHANGED["postgresql"]} OR {_details_differ(dialect, with_area)} THEN
                    RAISE EXCEPTION '{INCIDENT_REFUSAL}: UPDATE refused'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
                RETURN NEW;
            END $$
        """)
        return
    op.execute("DROP TRIGGER incidents_guarded")
    op.execute(
        "CREATE TRIGGER incidents_guarded BEFORE UPDATE ON incidents "
        f"WHEN {_IDENTITY_CHANGED['sqlite']} OR {_details_differ('sqlite', with_area)} "
        f"BEGIN SELECT RAISE(ABORT, '{INCIDENT_REFUSAL}: UPDATE refused'); END"
    )


def upgrade() -> None:
    op.add_column("incident_details_versions", sa.Column("area", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("area", sa.Text(), nullable=True))
    _guard(with_area=True)


def downgrade() -> None:
    _guard(with_area=False)
    op.drop_column("incidents", "area")
    op.drop_column("incident_details_versions", "area")
