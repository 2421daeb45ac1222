"""A template's CAP defaults and instruction (issue 18), in the services: stored with the
template version, filled in like its text, and published under what the publisher sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from console.db import Database
from console.domain.actors import Actor
from console.domain.alerting import Alerting, TranslatedAlerting, stored_alerting, stored_translated
from console.domain.errors import InvalidInput
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.templates import TemplateDraft, create_template, publish_from_template, revise_template
from console.domain.translation_drafts import TranslationDraft
from console.languages import Languages
from console.models import Role, TemplateVersion
from tests.conftest import PIO

ADMIN = Actor(user_id=None, name="Test Admin", role=Role.ADMIN, via="api")
LANGUAGES = Languages(("en", "es"))
ZONE = ZoneInfo("America/New_York")
DEFAULTS = Alerting(
    urgency="Immediate",
    severity="Severe",
    certainty="Likely",
    response_types=("Evacuate",),
    event="Wildfire",
    instruction="Go to {shelter} now.",
)
DRAFT = TemplateDraft(
    name="Evacuation",
    body="Leave {location}. Shelter: {shelter}.",
    translations={
        "es": TranslationDraft(
            lang="es",
            body="Salga. Refugio: {shelter}.",
            alerting=TranslatedAlerting(instruction="Vaya a {shelter} ahora."),
        )
    },
    alerting=DEFAULTS,
)


def make_template(db: Database) -> int:
    with db.write() as session:
        template, _ = create_template(session, ADMIN, DRAFT, languages=LANGUAGES)
        return template.id


def make_incident(db: Database, routing: Routing) -> str:
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Brush fire", location="Ridge Rd"), routing=routing
        )
        return incident.slug


def publish(
    db: Database, routing: Routing, template_id: int, slug: str, sent: Alerting
) -> tuple[str | None, list[str | None]]:
    """The published version's alerting JSON and its translations' alerting JSON."""
    with db.write() as session:
        published = publish_from_template(
            session,
            PIO,
            slug,
            template_id,
            {"shelter": "Lincoln gym"},
            preliminary=True,
            languages=LANGUAGES,
            zone=ZONE,
            routing=routing,
            now=datetime(2026, 12, 6, 1, 0, tzinfo=UTC),
            alerting=sent,
        )
        return published.version.alerting, [t.alerting for t in published.translations]


def test_the_defaults_are_stored_with_the_template_version(db: Database) -> None:
    template_id = make_template(db)
    with db.read() as session:
        [version] = session.query(TemplateVersion).filter_by(template_id=template_id).all()
        assert stored_alerting(version.alerting) == DEFAULTS
        assert json.loads(version.translations)["es"]["instruction"] == "Vaya a {shelter} ahora."


def test_publishing_carries_the_defaults_filled_in(db: Database, routing: Routing) -> None:
    template_id, slug = make_template(db), make_incident(db, routing)
    alerting, [spanish] = publish(db, routing, template_id, slug, Alerting())
    assert stored_alerting(alerting) == Alerting(
        urgency="Immediate",
        severity="Severe",
        certainty="Likely",
        response_types=("Evacuate",),
        event="Wildfire",
        instruction="Go to Lincoln gym now.",
    )
    assert stored_translated(spanish).instruction == "Vaya a Lincoln gym ahora."


def test_what_the_publisher_sends_wins_field_by_field(db: Database, routing: Routing) -> None:
    template_id, slug = make_template(db), make_incident(db, routing)
    sent = Alerting(severity="Extreme", instruction="Stay inside.", wea_short="Fire: stay inside.")
    alerting, [spanish] = publish(db, routing, template_id, slug, sent)
    in_force = stored_alerting(alerting)
    assert (in_force.severity, in_force.urgency, in_force.event) == ("Extreme", "Immediate", "Wildfire")
    assert (in_force.instruction, in_force.wea_short) == ("Stay inside.", "Fire: stay inside.")
    # The template's Spanish instruction translates words no longer sent: it is left out.
    assert spanish is None


@pytest.mark.parametrize(
    ("alerting", "field"),
    [
        (Alerting(urgency="Now"), "cap.urgency"),
        (Alerting(response_types=("Run",)), "cap.response_types"),
        (Alerting(event="x" * 101), "cap.event"),
        (Alerting(instruction="x" * 2001), "instruction"),
        (Alerting(expires=datetime(2026, 12, 6, tzinfo=UTC)), "cap.expires"),
        (Alerting(wea_short="Leave now."), "wea.short"),
    ],
)
def test_bad_defaults_are_refused_naming_the_field(db: Database, alerting: Alerting, field: str) -> None:
    with db.write() as session, pytest.raises(InvalidInput) as refused:
        create_template(
            session, ADMIN, TemplateDraft(name="T", body="B", alerting=alerting), languages=LANGUAGES
        )
    assert field in refused.value.fields


def test_a_revision_of_the_defaults_alone_is_a_new_version(db: Database) -> None:
    template_id = make_template(db)
    with db.write() as session:
        _, version = revise_template(
            session,
            ADMIN,
            template_id,
            TemplateDraft(**{**DRAFT.__dict__, "alerting": Alerting(severity="Minor")}),
            corrects_version=1,
            languages=LANGUAGES,
        )
        assert version.version == 2 and stored_alerting(version.alerting) == Alerting(severity="Minor")
