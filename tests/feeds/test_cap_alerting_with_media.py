"""A version with CAP fields, an instruction, WEA texts and an image at once (issues 17 and 18,
built side by side): its CAP message carries them in the schema's order (parameters before
resources, resources before the area) in every language, and its content hash, and its
translation's, cover both and verify from their JSON views."""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree

from console.db import Database
from console.domain.alerting import Alerting, TranslatedAlerting
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.media import MediaDraft
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import translation_view
from console.domain.updates import Draft, Translations, publish_update, version_view
from console.feeds.paths import cap_message
from console.languages import Languages
from console.settings import Settings
from console.verification import translation_hash, version_hash
from tests.conftest import PIO
from tests.feeds.conftest import CAP_NS, at, make_incident, render, valid_cap
from tests.support.images import photo_with_gps
from tests.support.media import store_upload

NS = {"cap": CAP_NS}
LANGUAGES = Languages(("en", "es"))
ALERTING = Alerting(
    urgency="Immediate",
    severity="Severe",
    response_types=("Evacuate",),
    instruction="Leave by Oak St now.",
    wea_short="Gas leak: leave by Oak St now.",
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


def test_alerting_fields_and_images_go_out_together_and_are_hashed_together(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    photo_id, _ = store_upload(db, settings, photo_with_gps(), "image/jpeg")
    spanish_draft = TranslationDraft(
        lang="es",
        body="Fuga de gas en Oak St.",
        alerting=TranslatedAlerting(instruction="Salga por Oak St ya.", wea_short="Fuga: salga ya."),
        media_alt=("Equipos en la fuga",),
    )
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(area={"description": "Oak St", "polygons": [[[1, 1], [1, 2], [2, 2], [1, 1]]]}),
            reason="Mapped",
            corrects_version=1,
            routing=routing,
            now=at(1),
        )
        published = publish_update(
            session,
            PIO,
            slug,
            Draft(body="Gas leak on Oak St.", media=(MediaDraft(photo_id, "Crews at the leak"),)),
            routing=routing,
            translations=Translations([spanish_draft], LANGUAGES),
            alerting=ALERTING,
            now=at(2),
        )
        view = version_view(published.version)
        [translated] = published.translations
        spanish = translation_view(translated, 1, "current")
    assert version_hash(slug, 1, view) == view["content_hash"]
    assert version_hash(slug, 1, {**view, "media": []}) != view["content_hash"]
    assert version_hash(slug, 1, {**view, "instruction": "Stay."}) != view["content_hash"]
    assert translation_hash(slug, 1, spanish) == spanish["content_hash"]
    assert translation_hash(slug, 1, {**spanish, "media_alt": ["x"]}) != spanish["content_hash"]

    root = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 1)))
    infos = root.findall("cap:info", NS)
    assert [info.findtext("cap:language", namespaces=NS) for info in infos] == ["en-US", "es"]
    for info, (instruction, wea, alt) in zip(
        infos,
        [
            ("Leave by Oak St now.", "Gas leak: leave by Oak St now.", "Crews at the leak"),
            ("Salga por Oak St ya.", "Fuga: salga ya.", "Equipos en la fuga"),
        ],
        strict=True,
    ):
        names = [etree.QName(child).localname for child in info]
        assert names.index("instruction") < names.index("parameter") < names.index("resource")
        assert names.index("resource") < names.index("area")
        assert info.findtext("cap:instruction", namespaces=NS) == instruction
        assert info.findtext("cap:parameter/cap:value", namespaces=NS) == wea
        assert info.findtext("cap:resource/cap:resourceDesc", namespaces=NS) == alt
        assert info.findtext("cap:urgency", namespaces=NS) == "Immediate"
