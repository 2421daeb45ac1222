"""incident area (issue 17)

An incident's mapped area (polygons, circles, geocodes and a description, as canonical JSON
text) is one more versioned detail: a nullable `area` column on `incident_details_versions`
and on `incidents`, which carries the newest version's. The guard of migration
i13_incident_details is extended so the database still refuses an incident whose area is not
its newest details version's. Existing rows have no area (NULL), and a details version's hash
covers its area only when it has one, so every existing hash still verifies.

Create Date: 2026-12-05 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.migrations import incident_guard

revision: str = "i17_area"
down_revision: str | None = "i18_approval"

# An incident row's details equal a details version's (`d`), with or without the area.
_DETAILS_EQUAL = (
    "d.title = NEW.title AND d.summary = NEW.summary AND d.location = NEW.location "
    "AND d.category = NEW.category AND d.alert_status = NEW.alert_status"
)
_AREA_EQUAL = {
    "postgresql": " AND d.area IS NOT DISTINCT FROM NEW.area",
    "sqlite": " AND d.area IS NEW.area",
}


def _guard(with_area: bool) -> None:
    dialect = op.get_bind().dialect.name
    details_differ = incident_guard.details_differ(
        _DETAILS_EQUAL + (_AREA_EQUAL[dialect] if with_area else "")
    )
    if dialect == "postgresql":
        incident_guard.postgresql_function("CREATE OR REPLACE FUNCTION", details_differ)
        return
    op.execute("DROP TRIGGER incidents_guarded")
    incident_guard.sqlite_update_trigger(details_differ)


def upgrade() -> None:
    op.add_column("incident_details_versions", sa.Column("area", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("area", sa.Text(), nullable=True))
    _guard(with_area=True)


def downgrade() -> None:
    _guard(with_area=False)
    op.drop_column("incidents", "area")
    op.drop_column("incident_details_versions", "area")
