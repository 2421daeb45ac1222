"""An incident's CAP defaults (issue 17): checked as a version's `cap` is, versioned with the
other details and hashed only when present; applied when a new update is published (what the
update sends wins), never again when it is corrected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from console.db import Database
from console.domain.alerting import NOTHING, Alerting, check_cap_defaults, stored_alerting
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.errors import InvalidInput
from console.domain.history import details_changes
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.integrity import verify
from console.domain.outbox import Routing
from console.domain.resolution import resolve_with_all_clear
from console.domain.updates import (
    NO_TRANSLATIONS,
    Draft,
    confirm_update,
    correct_update,
    publish_update,
)
from console.models import Incident, IncidentDetailsVersion, UpdateVersion
from tests.conftest import PIO

NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)
DEFAULTS = {
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Observed",
    "response_types": ["Evacuate"],
    "event": "Gas leak",
}
AS_ALERTING = Alerting(
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    response_types=("Evacuate",),
    event="Gas leak",
)


def new_incident(db: Database, routing: Routing, cap_defaults: Any = None) -> str:
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak", cap_defaults=cap_defaults), routing=routing, now=NOW
        )
        return incident.slug


def publish(db: Database, routing: Routing, slug: str, alerting: Alerting = NOTHING) -> int:
    with db.write() as session:
        published = publish_update(
            session, PIO, slug, Draft(body="Leave the area."), routing=routing, alerting=alerting
        )
        return published.update.id


def stored(db: Database, update_id: int) -> list[tuple[Alerting, str]]:
    """Each version's alerting fields and content hash, oldest first."""
    with db.read() as session:
        rows = session.scalars(
            select(UpdateVersion).where(UpdateVersion.update_id == update_id).order_by(UpdateVersion.version)
        )
        return [(stored_alerting(row.alerting), row.content_hash) for row in rows]


def set_defaults(db: Database, routing: Routing, slug: str, version: int, cap_defaults: Any) -> None:
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(cap_defaults=cap_defaults),
            reason="Defaults for the evacuation",
            corrects_version=version,
            routing=routing,
        )


def test_check_cap_defaults_reads_the_cap_fields_and_names_every_problem() -> None:
    errors: dict[str, str] = {}
    assert check_cap_defaults({**DEFAULTS, "event": "  Gas leak "}, errors) == AS_ALERTING
    assert errors == {}
    assert check_cap_defaults(None, errors) == NOTHING and check_cap_defaults({}, errors) == NOTHING
    assert check_cap_defaults({"response_types": [], "event": " "}, errors) == NOTHING  # given as none
    assert errors == {}

    check_cap_defaults(
        {
            "urgency": "now",
            "severity": "Bad",
            "certainty": "Sure",
            "response_types": ["Hide"],
            "event": "x" * 101,
            "expires": "2026-12-05T18:00:00Z",
            "instruction": "Stay in.",
        },
        errors,
    )
    assert set(errors) == {
        f"cap_defaults.{name}"
        for name in ("urgency", "severity", "certainty", "response_types", "event", "expires", "instruction")
    }
    assert "Immediate" in errors["cap_defaults.urgency"] and "Hide" in errors["cap_defaults.response_types"]
    assert "has no default" in errors["cap_defaults.expires"]
    errors = {}
    assert check_cap_defaults(["Immediate"], errors) == NOTHING
    assert set(errors) == {"cap_defaults"}


def test_a_new_update_gets_the_defaults_and_what_it_sends_wins(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing, DEFAULTS)
    plain = publish(db, routing, slug)
    [(alerting, _)] = stored(db, plain)
    assert alerting == AS_ALERTING

    sent = Alerting(urgency="Expected", response_types=("Shelter", "Monitor"), instruction="Stay inside.")
    own = publish(db, routing, slug, sent)
    [(alerting, _)] = stored(db, own)
    assert alerting == Alerting(
        urgency="Expected",  # sent
        severity="Severe",  # defaults
        certainty="Observed",
        response_types=("Shelter", "Monitor"),  # sent, not merged with the default's
        event="Gas leak",
        instruction="Stay inside.",
    )
    with db.read() as session:
        assert verify(session).ok  # stored and hashed as the update's own fields


def test_a_correction_carries_its_versions_fields_and_never_takes_the_defaults_again(
    db: Database, routing: Routing
) -> None:
    slug = new_incident(db, routing)
    before_defaults = publish(db, routing, slug)  # published with no defaults in force
    set_defaults(db, routing, slug, 1, DEFAULTS)
    under_defaults = publish(db, routing, slug)
    [(first, first_hash)] = stored(db, under_defaults)
    assert first == AS_ALERTING
    set_defaults(db, routing, slug, 2, {"urgency": "Past", "severity": "Minor"})

    with db.write() as session:
        correct_update(
            session,
            PIO,
            before_defaults,
            Draft(body="Leave the area now."),
            reason="Clearer",
            corrects_version=1,
            routing=routing,
        )
        correct_update(
            session,
            PIO,
            under_defaults,
            Draft(body="Leave the area now."),
            reason="Clearer",
            corrects_version=1,
            routing=routing,
        )
        confirm_update(session, PIO, under_defaults, corrects_version=2, routing=routing)
    assert [alerting for alerting, _ in stored(db, before_defaults)] == [NOTHING, NOTHING]
    assert [alerting for alerting, _ in stored(db, under_defaults)] == [AS_ALERTING] * 3
    assert stored(db, under_defaults)[0] == (first, first_hash)  # the published version never changes
    # A new update gets the defaults in force now.
    [(newest, _)] = stored(db, publish(db, routing, slug))
    assert newest == Alerting(urgency="Past", severity="Minor")
    with db.read() as session:
        assert verify(session).ok


def test_an_all_clear_does_not_take_the_defaults(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing, DEFAULTS)
    with db.write() as session:
        resolved = resolve_with_all_clear(
            session, PIO, slug, "All clear.", translations=NO_TRANSLATIONS, routing=routing
        )
        assert resolved.all_clear.version.alerting is None


def test_defaults_are_a_details_version_and_a_change_of_nothing_is_refused(
    db: Database, routing: Routing
) -> None:
    slug = new_incident(db, routing, DEFAULTS)
    with db.write() as session, pytest.raises(InvalidInput) as same:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(cap_defaults={**DEFAULTS, "event": "Gas leak "}),
            reason="Again",
            corrects_version=1,
            routing=routing,
        )
    assert set(same.value.fields) == {"details"}
    with db.write() as session, pytest.raises(InvalidInput) as bad:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(title="Gas leak downtown", cap_defaults={"certainty": "Maybe"}),
            reason="Bad",
            corrects_version=1,
            routing=routing,
        )
    assert set(bad.value.fields) == {"cap_defaults.certainty"}
    set_defaults(db, routing, slug, 1, {})  # {} removes them
    with db.read() as session:
        rows = list(session.scalars(select(IncidentDetailsVersion).order_by(IncidentDetailsVersion.version)))
        assert [row.cap_defaults for row in rows] == [canonical_json(DEFAULTS), None]
        [_, removed] = details_changes(session, rows[0].incident_id)
        [change] = removed.changes
        assert change.label == "CAP defaults" and change.after == ""
        assert change.before.startswith("urgency: Immediate; severity: Severe")
        assert verify(session).ok


def hashed(slug: str, row: IncidentDetailsVersion, **extra: str) -> str:
    """A details version's hash as written before CAP defaults (and areas) existed, plus `extra`."""
    return sha256_hex(
        canonical_json(
            {
                **extra,
                "incident": slug,
                "version": row.version,
                "title": row.title,
                "summary": row.summary,
                "location": row.location,
                "category": row.category,
                "alert_status": row.alert_status.value,
                "reason": row.reason,
                "author": row.author_name,
                "published_at": iso(row.published_at),
            }
        )
    )


def test_a_details_version_is_hashed_with_its_defaults_only_when_it_has_some(
    db: Database, routing: Routing
) -> None:
    without = new_incident(db, routing)
    with_defaults = new_incident(db, routing, DEFAULTS)
    with db.read() as session:
        plain, defaulted = (
            session.scalars(select(IncidentDetailsVersion).join(Incident).where(Incident.slug == slug)).one()
            for slug in (without, with_defaults)
        )
        assert plain.cap_defaults is None and plain.content_hash == hashed(without, plain)
        assert defaulted.cap_defaults is not None
        assert defaulted.content_hash == hashed(with_defaults, defaulted, cap_defaults=defaulted.cap_defaults)
