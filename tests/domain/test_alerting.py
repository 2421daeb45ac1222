"""A version's CAP fields, instruction and WEA texts (issue 17): checked, carried over on a
change, stored with the version and hashed only when it has some."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from console.db import Database
from console.domain.alerting import Alerting, alerting_text, check_alerting, stored_alerting
from console.domain.canonical import canonical_json, iso, sha256_hex
from console.domain.errors import InvalidInput
from console.domain.integrity import verify
from console.domain.outbox import Routing
from console.domain.updates import Draft, content_hash, correct_update, publish_update, retract_update
from tests.conftest import PIO
from tests.domain.test_updates import new_incident

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def test_check_alerting_reads_every_field_and_names_every_problem() -> None:
    errors: dict[str, str] = {}
    checked = check_alerting(
        {
            "urgency": "Immediate",
            "severity": "Minor",
            "certainty": "Possible",
            "response_types": ["Monitor", "Assess", "Monitor"],
            "event": "  Odor  ",
            "expires": "2026-12-05T18:00:00Z",
        },
        "Stay indoors.",
        {"short": "Odor downtown.", "long": ""},
        errors,
    )
    assert errors == {}
    assert checked == Alerting(
        urgency="Immediate",
        severity="Minor",
        certainty="Possible",
        response_types=("Monitor", "Assess"),
        event="Odor",
        expires=datetime(2026, 12, 5, 18, 0, tzinfo=UTC),
        instruction="Stay indoors.",
        wea_short="Odor downtown.",
    )
    errors = {}
    check_alerting(
        {"urgency": "immediate", "expires": "2026-12-05T18:00:00", "response_types": ["Hide"]},
        "x" * 2001,
        {"short": "é" * 91},
        errors,
    )
    assert set(errors) == {"cap.urgency", "cap.expires", "cap.response_types", "instruction", "wea.short"}
    assert "timezone" in errors["cap.expires"] and "90" in errors["wea.short"]


def test_over_keeps_what_is_not_given() -> None:
    earlier = Alerting(urgency="Expected", instruction="Stay in.", response_types=("Shelter",))
    assert Alerting(urgency="Immediate").over(earlier) == Alerting(
        urgency="Immediate", instruction="Stay in.", response_types=("Shelter",)
    )
    assert Alerting().over(earlier) == earlier


def test_a_stored_expires_keeps_its_offset() -> None:
    eastern = timezone(timedelta(hours=-5))
    errors: dict[str, str] = {}
    alerting = check_alerting({"expires": "2026-12-05T18:00:00-05:00"}, None, None, errors)
    assert stored_alerting(alerting_text(alerting)).expires == datetime(2026, 12, 5, 18, tzinfo=eastern)


def test_a_version_without_fields_hashes_as_before_and_one_with_them_covers_them(
    db: Database, routing: Routing
) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        plain = publish_update(session, PIO, slug, Draft(body="Main St closed."), routing=routing, now=NOW)
        alerting = Alerting(severity="Moderate", instruction="Use Elm St.")
        with_fields = publish_update(
            session, PIO, slug, Draft(body="Main St closed."), routing=routing, alerting=alerting, now=NOW
        )
        version = plain.version
        assert version.alerting is None
        before = {  # the hash as written before issue 17
            "incident": slug,
            "seq": 1,
            "version": 1,
            "kind": "original",
            "headline": None,
            "body": "Main St closed.",
            "preliminary": True,
            "reason": None,
            "author": version.author_name,
            "published_at": iso(NOW),
        }
        assert version.content_hash == sha256_hex(canonical_json(before))
        covered = with_fields.version
        assert covered.alerting == '{"cap":{"severity":"Moderate"},"instruction":"Use Elm St."}'
        assert covered.content_hash == content_hash(slug, 2, covered)
        assert covered.content_hash == sha256_hex(
            canonical_json({**before, "seq": 2, "alerting": covered.alerting})
        )


def test_corrections_and_retractions_carry_the_fields(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session:
        first = publish_update(
            session,
            PIO,
            slug,
            Draft(body="Main St closed."),
            routing=routing,
            alerting=Alerting(urgency="Expected", wea_short="Main St closed."),
        )
        update_id = first.update.id
        corrected = correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Main St and 3rd closed."),
            reason="More streets",
            corrects_version=1,
            routing=routing,
        )
        retracted = retract_update(session, PIO, update_id, reason="Wrong", routing=routing)
        assert stored_alerting(corrected.version.alerting) == Alerting(
            urgency="Expected", wea_short="Main St closed."
        )
        assert retracted.version.alerting == corrected.version.alerting
    with db.read() as session:
        report = verify(session)
        assert report.ok, report.describe()


def test_the_service_refuses_fields_no_form_checked(db: Database, routing: Routing) -> None:
    slug = new_incident(db, routing)
    with db.write() as session, pytest.raises(InvalidInput) as refused:
        publish_update(
            session,
            PIO,
            slug,
            Draft(body="Main St closed."),
            routing=routing,
            alerting=Alerting(urgency="Now", wea_short="x" * 91, expires=datetime(2026, 12, 5)),
        )
    assert set(refused.value.fields) == {"cap.urgency", "wea.short", "cap.expires"}
