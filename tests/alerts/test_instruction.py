"""What to do (issue 17) comes first in every alert a subscriber gets: email (text and HTML),
SMS and Web Push, in the subscriber's language when the translation carries it."""

from __future__ import annotations

import dataclasses
import json

from console.alerts.content import AlertSource
from console.alerts.email import render_alert as render_email
from console.alerts.sms import render_alert as render_sms
from console.alerts.web_push import payload
from console.db import Database
from console.domain.alerting import Alerting, TranslatedAlerting
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, publish_update
from console.languages import Languages
from console.settings import Settings
from console.templating import make_templates
from tests.conftest import PIO
from tests.support.sms import as_one

LANGUAGES = Languages(("en", "es"))


def test_the_instruction_comes_first_on_every_alert_channel(
    settings: Settings, db: Database, routing: Routing
) -> None:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        published = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="Leak at Oak St", body="Crews are on scene."),
            routing=routing,
            alerting=Alerting(instruction="Leave the area now."),
            translations=Translations(
                [
                    TranslationDraft(
                        lang="es",
                        body="Equipos en el lugar.",
                        alerting=TranslatedAlerting(instruction="Salga del área ahora."),
                    )
                ],
                LANGUAGES,
            ),
        )
        source = AlertSource(session, published.event.event_id, LANGUAGES, settings.public_url)
        english, spanish = source.content("en"), source.content("es")
    assert (english.instruction, spanish.instruction) == ("Leave the area now.", "Salga del área ahora.")
    env = make_templates(dataclasses.replace(settings, languages=LANGUAGES.tags)).env
    email = render_email(env, english)
    assert email.text.index("What to do: Leave the area now.") < email.text.index("Leak at Oak St")
    assert email.html.index("Leave the area now.") < email.html.index("Crews are on scene.")
    sms = " ".join(as_one(render_sms(spanish)).split())
    assert sms.index("Qué hacer: Salga del área ahora.") < sms.index("Equipos en el lugar.")
    notice = json.loads(payload(english))
    assert notice["body"].index("What to do: Leave the area now.") < notice["body"].index(
        "Crews are on scene."
    )
