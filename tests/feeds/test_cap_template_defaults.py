"""An update published from a template with CAP defaults (issue 18): its CAP message carries the
template's urgency, severity, certainty, response types, event and instruction (translated in
the Spanish `<info>`), with a field the publisher sent in place of the template's."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from console.db import Database
from console.domain.alerting import Alerting
from console.domain.outbox import Routing
from console.domain.templates import create_template, publish_from_template
from console.feeds.paths import cap_message
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.domain.test_template_alerting import ADMIN, DRAFT
from tests.feeds.conftest import CAP_NS, at, make_incident, render, valid_cap

LANGUAGES = Languages(("en", "es"))
CAP = {"cap": CAP_NS}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


def test_the_cap_message_carries_the_templates_defaults_under_what_was_sent(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Brush fire")
    with db.write() as session:
        template, _ = create_template(session, ADMIN, DRAFT, languages=LANGUAGES)
        publish_from_template(
            session,
            PIO,
            slug,
            template.id,
            {"shelter": "Lincoln gym"},
            preliminary=False,
            languages=LANGUAGES,
            zone=ZoneInfo("America/New_York"),
            routing=routing,
            now=at(1),
            alerting=Alerting(certainty="Observed"),
        )
    root = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 1)))
    english, spanish = root.iterfind("cap:info", CAP)
    for info in (english, spanish):
        assert info.findtext("cap:event", namespaces=CAP) == "Wildfire"
        assert [r.text for r in info.iterfind("cap:responseType", CAP)] == ["Evacuate"]
        assert (
            info.findtext("cap:urgency", namespaces=CAP),
            info.findtext("cap:severity", namespaces=CAP),
            info.findtext("cap:certainty", namespaces=CAP),  # sent: it wins over the template's Likely
        ) == ("Immediate", "Severe", "Observed")
    assert english.findtext("cap:instruction", namespaces=CAP) == "Go to Lincoln gym now."
    assert spanish.findtext("cap:instruction", namespaces=CAP) == "Vaya a Lincoln gym ahora."
