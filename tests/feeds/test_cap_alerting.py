"""A version's own CAP fields, instruction and WEA texts in its CAP message (issue 17): every
field in `<info>`, in the schema's order, valid against the OASIS schema and read by a
third-party CAP library; one `<info>` per language, the instruction translated and, in the
Spanish `<info>`, the Spanish WEA texts. A version that sets none renders as before."""

from __future__ import annotations

import dataclasses
import html
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cap_tools.models import Alert
from lxml import etree
from xsdata.formats.dataclass.parsers import XmlParser

from console.db import Database
from console.domain.alerting import Alerting, TranslatedAlerting
from console.domain.outbox import Routing
from console.domain.pins import pin_update
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import (
    Draft,
    Translations,
    confirm_update,
    correct_update,
    publish_update,
    retract_update,
)
from console.feeds.cap import cap_time
from console.feeds.paths import cap_message, incident_atom
from console.feeds.writer import FeedFiles
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import CAP_NS, at, drain, make_incident, publish, render, valid_cap

LANGUAGES = Languages(("en", "es", "vi"))
CAP = {"cap": CAP_NS}
ATOM = {"a": "http://www.w3.org/2005/Atom"}
EASTERN = timezone(timedelta(hours=-5))
ALERTING = Alerting(
    urgency="Immediate",
    severity="Severe",
    certainty="Observed",
    response_types=("Evacuate", "Avoid"),
    event="Gas leak",
    expires=datetime(2026, 3, 14, 18, 0, tzinfo=EASTERN),
    instruction="Leave the area now by Oak St. Do not use phones near the leak.",
    wea_short="Gas leak downtown: leave the area now by Oak St.",
    wea_long="Gas leak downtown between 1st and 14th St. Leave now by Oak St; do not use phones near it.",
)
SPANISH = TranslatedAlerting(
    instruction="Salga del área ahora por Oak St.",
    wea_short="Fuga de gas en el centro: salga ahora por Oak St.",
    wea_long="Fuga de gas en el centro. Salga ahora por Oak St; no use teléfonos cerca.",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


def publish_alerting(db: Database, routing: Routing, slug: str, alerting: Alerting, minute: int) -> int:
    translations = Translations(
        [
            TranslationDraft(lang="es", body="Evacúe el centro.", alerting=SPANISH),
            TranslationDraft(lang="vi", body="Sơ tán khu trung tâm."),
        ],
        LANGUAGES,
    )
    with db.write() as session:
        return publish_update(
            session,
            PIO,
            slug,
            Draft(body="Evacuate downtown."),
            routing=routing,
            translations=translations,
            alerting=alerting,
            now=at(minute),
        ).update.id


def info_fields(info: etree._Element) -> list[tuple[str, str]]:
    return [
        (etree.QName(child).localname, child.text or "")
        for child in info
        if child.text and child.text.strip()
    ]


def parameters(info: etree._Element) -> list[tuple[str, str]]:
    return [
        (p.findtext("cap:valueName", namespaces=CAP) or "", p.findtext("cap:value", namespaces=CAP) or "")
        for p in info.iterfind("cap:parameter", CAP)
    ]


def test_every_field_is_in_each_info_in_the_schemas_order(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Odor downtown")
    publish_alerting(db, routing, slug, ALERTING, minute=1)
    xml = render(settings, db, cap_message(slug, 1, 1))
    root = valid_cap(cap_schema, xml)  # the OASIS schema checks the order of <info>'s elements
    english, spanish, vietnamese = root.iterfind("cap:info", CAP)
    names = [name for name, _ in info_fields(english)]
    assert names[:9] == [
        "language",
        "category",
        "event",
        "responseType",
        "responseType",
        "urgency",
        "severity",
        "certainty",
        "expires",
    ]
    fields = dict(info_fields(english))
    assert (fields["event"], fields["urgency"], fields["severity"], fields["certainty"]) == (
        "Gas leak",
        "Immediate",
        "Severe",
        "Observed",
    )
    assert [r.text for r in english.iterfind("cap:responseType", CAP)] == ["Evacuate", "Avoid"]
    assert fields["expires"] == "2026-03-14T23:00:00-00:00"
    assert fields["instruction"] == ALERTING.instruction
    assert parameters(english) == [("CMAMtext", ALERTING.wea_short), ("CMAMlongtext", ALERTING.wea_long)]

    assert spanish.findtext("cap:instruction", namespaces=CAP) == SPANISH.instruction
    assert parameters(spanish) == [("CMAMtext", SPANISH.wea_short), ("CMAMlongtext", SPANISH.wea_long)]
    assert spanish.findtext("cap:urgency", namespaces=CAP) == "Immediate"
    # no Vietnamese instruction was given: the English one, rather than none; no WEA texts
    assert vietnamese.findtext("cap:instruction", namespaces=CAP) == ALERTING.instruction
    assert parameters(vietnamese) == []

    parsed = XmlParser().from_bytes(xml, Alert)  # a third-party CAP library reads every field
    info = parsed.infos[0]
    assert (info.urgency.value, info.severity.value, info.certainty.value) == (
        "Immediate",
        "Severe",
        "Observed",
    )
    assert [r.value for r in info.response_types] == ["Evacuate", "Avoid"]
    assert info.expires is not None and info.expires.to_datetime() == ALERTING.expires
    assert info.instruction == ALERTING.instruction
    assert [(p.value_name.value, p.value.value) for p in parsed.infos[1].parameters] == [
        ("CMAMtext", SPANISH.wea_short),
        ("CMAMlongtext", SPANISH.wea_long),
    ]


def test_a_correction_carries_the_fields_it_does_not_change_and_a_confirmation_keeps_them(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Odor downtown")
    update_id = publish_alerting(db, routing, slug, Alerting(urgency="Expected", instruction="Stay in."), 1)
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Evacuate downtown."),  # the same text: only the urgency changes
            reason="More urgent",
            corrects_version=1,
            routing=routing,
            alerting=Alerting(urgency="Immediate"),
            now=at(2),
        )
        confirm_update(session, PIO, update_id, corrects_version=2, routing=routing, now=at(3))
    second = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2)))
    third = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 3)))
    for root, certainty in ((second, "Likely"), (third, "Observed")):
        fields = dict(info_fields(root.find("cap:info", CAP)))
        assert (fields["urgency"], fields["instruction"], fields["certainty"]) == (
            "Immediate",
            "Stay in.",
            certainty,
        )


def test_a_version_without_fields_renders_the_defaults_as_before(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Odor downtown")
    publish(db, routing, slug, "Avoid downtown.", minute=1)
    fields = dict(
        info_fields(
            valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 1))).find("cap:info", CAP)
        )
    )
    assert (fields["event"], fields["urgency"], fields["severity"], fields["certainty"]) == (
        "Odor downtown",
        "Unknown",
        "Unknown",
        "Likely",
    )
    assert "expires" not in fields and "instruction" not in fields and "responseType" not in fields


def test_cap_time_of_expires_is_utc_with_an_explicit_offset() -> None:
    assert cap_time(datetime(2026, 3, 14, 18, 0, 30, 5, tzinfo=EASTERN)) == "2026-03-14T23:00:30-00:00"
    assert cap_time(datetime(2026, 3, 14, 23, 0, tzinfo=UTC)) == "2026-03-14T23:00:00-00:00"


def test_a_rebuild_writes_the_same_cap_bytes_and_the_own_instruction_wins_over_the_pin(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Odor downtown")
    pinned = publish(db, routing, slug, "Stay indoors.", minute=1)
    with db.write() as session:
        pin_update(session, PIO, slug, seq=1, routing=routing, now=at(2))
    publish_alerting(db, routing, slug, ALERTING, minute=3)
    drain(settings, db)
    files = sorted((settings.feeds_dir / "incidents" / slug / "cap").glob("*.xml"))
    assert len(files) == 2 and pinned
    written = {path.name: path.read_bytes() for path in files}
    own = valid_cap(cap_schema, written["2-1.xml"])
    assert own.findtext("cap:info/cap:instruction", namespaces=CAP) == ALERTING.instruction
    for path in files:
        path.unlink()  # written again from the database alone
    FeedFiles(settings).rebuild(db)
    assert {path.name: path.read_bytes() for path in files} == written


def test_in_the_atom_feed_of_a_language_an_instruction_it_lacks_is_marked_as_the_primarys(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    publish_alerting(db, routing, slug, ALERTING, 1)
    english = html.escape(ALERTING.instruction, quote=False)
    spanish = etree.fromstring(render(settings, db, incident_atom(slug, "es")))
    assert f"<strong>Qué hacer:</strong> {html.escape(SPANISH.instruction or '', quote=False)}</p>" in (
        spanish.findtext("a:entry/a:content", namespaces=ATOM) or ""
    )
    vietnamese = etree.fromstring(render(settings, db, incident_atom(slug, "vi")))
    content = vietnamese.findtext("a:entry/a:content", namespaces=ATOM) or ""
    assert f'<span lang="en">{english}</span></p>' in content
    primary = etree.fromstring(render(settings, db, incident_atom(slug)))
    assert f"</strong> {english}</p>" in (primary.findtext("a:entry/a:content", namespaces=ATOM) or "")


def test_a_cancel_does_not_carry_the_withdrawn_instruction_or_wea_texts(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    """A retraction's Cancel says the update is withdrawn: a relay that shows its instruction,
    response types or WEA text must not tell people to evacuate again."""
    slug = make_incident(db, routing, "Odor downtown")
    update_id = publish_alerting(db, routing, slug, ALERTING, minute=1)
    with db.write() as session:
        retract_update(session, PIO, update_id, reason="Issued in error", routing=routing, now=at(2))
    root = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2)))
    assert root.findtext("cap:msgType", namespaces=CAP) == "Cancel"
    for info in root.iterfind("cap:info", CAP):
        assert info.findtext("cap:instruction", namespaces=CAP) is None
        assert info.find("cap:responseType", CAP) is None
        assert parameters(info) == []
        assert info.findtext("cap:urgency", namespaces=CAP) == "Immediate"  # what it was about
