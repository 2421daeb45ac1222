"""What each alert channel says about a correction and a retraction, checked against each
other: a resident who subscribed in Spanish (a catalog) or in Vietnamese (none: English
words) reads on the SMS and the push notification what the email says, why first, and a
retraction never repeats the withdrawn text as though it still stood."""

from __future__ import annotations

import dataclasses
import json

import pytest

from console.alerts.content import AlertContent, AlertSource
from console.alerts.email import render_alert as render_email
from console.alerts.sms import render_alert as render_sms
from console.alerts.web_push import MAX_PAYLOAD_BYTES, payload
from console.db import Database
from console.domain import sms_text
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, correct_update, publish_update, retract_update
from console.languages import Languages
from console.settings import Settings
from console.templating import make_templates
from tests.conftest import PIO
from tests.support.sms import as_one

LANGUAGES = Languages(("en", "es", "vi"))
PUBLIC_URL = "https://police.example"


def _retraction(db: Database, routing: Routing, lang: str) -> AlertContent:
    """An exercise's preliminary evacuation order, translated into Spanish, then retracted."""
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak", alert_status="exercise"), routing=routing
        )
        published = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="Leak at Oak St", body="Evacuate Oak St now.", preliminary=True),
            translations=Translations(
                [TranslationDraft(lang="es", headline="Fuga en Oak St", body="Evacúen Oak St ahora.")],
                LANGUAGES,
            ),
            routing=routing,
        )
        retracted = retract_update(session, PIO, published.update.id, reason="Not a leak", routing=routing)
        return AlertSource(session, retracted.event.event_id, LANGUAGES, PUBLIC_URL).content(lang)


# (subscriber language, the withdrawn text as they get it, "Why:", "Withdrawn text")
RETRACTIONS = [
    ("es", "Fuga en Oak St. Evacúen Oak St ahora.", "Por qué:", "Texto retirado"),
    ("vi", "Leak at Oak St. Evacuate Oak St now.", "Why:", "Withdrawn text"),
]


@pytest.mark.parametrize(("lang", "withdrawn", "why", "marker"), RETRACTIONS)
def test_a_retraction_sms_says_why_and_marks_the_withdrawn_text_as_withdrawn(
    db: Database, routing: Routing, lang: str, withdrawn: str, why: str, marker: str
) -> None:
    """As the email does ("Why: …", then "Withdrawn text: …" struck through): the evacuation
    order it withdraws is never read as an order to evacuate."""
    content = _retraction(db, routing, lang)
    text = as_one(render_sms(content), every="SIMULACRO: " if lang == "es" else "EXERCISE: ")
    # The exercise first, as on every channel; then that it is withdrawn, and why.
    retracted = (
        "SIMULACRO: RETIRADA: esta actualización fue retirada."
        if lang == "es"
        else "EXERCISE: RETRACTED: this update was withdrawn."
    )
    assert text.startswith(f'{retracted} Gas leak: {why} Not a leak. {marker}: "{withdrawn}"')
    # The withdrawn text is nowhere but inside the quotation the marker opens.
    assert text.count(withdrawn.split(". ")[1]) == 1


@pytest.mark.parametrize(("lang", "withdrawn", "why", "marker"), RETRACTIONS)
def test_a_retraction_push_says_why_and_marks_the_withdrawn_text_as_withdrawn(
    db: Database, routing: Routing, lang: str, withdrawn: str, why: str, marker: str
) -> None:
    content = _retraction(db, routing, lang)
    body = json.loads(payload(content))["body"]
    labels = "SIMULACRO: RETIRADA: " if lang == "es" else "EXERCISE: RETRACTED: "
    notice = " Translation being updated." if lang == "vi" else ""
    assert body == f'{labels}{why} Not a leak. {marker}: "{withdrawn}"{notice}'


def test_a_retraction_email_says_why_before_the_withdrawn_text(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """The wording the SMS and push now follow (unchanged: the email already said it)."""
    content = _retraction(db, routing, "es")
    env = make_templates(dataclasses.replace(settings, languages=LANGUAGES.tags)).env
    text = render_email(env, content).text
    assert text.index("Por qué: Not a leak") < text.index("Texto retirado: Fuga en Oak St")


def test_a_drill_retraction_email_says_exercise_before_anything(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """An exercise is labelled first on every channel (as the subject, the SMS and the push
    are): the email's first line was "RETIRADA: esta actualización fue retirada."."""
    content = _retraction(db, routing, "es")
    env = make_templates(dataclasses.replace(settings, languages=LANGUAGES.tags)).env
    email = render_email(env, content)
    assert email.subject.startswith("SIMULACRO: RETIRADA: ")
    assert email.text.startswith("SIMULACRO · RETIRADA\nRETIRADA: esta actualización fue retirada.\n")
    body = email.html.split("<body>", 1)[1].lstrip()
    assert body.startswith(
        "<p><strong>SIMULACRO</strong> · <strong>RETIRADA</strong></p>"
        "<p><strong>RETIRADA: esta actualización fue retirada.</strong></p>"
    )


def _correction(db: Database, routing: Routing, lang: str) -> AlertContent:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        published = publish_update(
            session, PIO, incident.slug, Draft(body="Evacuate Oak St now.", preliminary=True), routing=routing
        )
        corrected = correct_update(
            session,
            PIO,
            published.update.id,
            Draft(body="Evacuate Elm St now."),
            reason="Wrong street",
            corrects_version=1,
            routing=routing,
        )
        return AlertSource(session, corrected.event.event_id, LANGUAGES, PUBLIC_URL).content(lang)


@pytest.mark.parametrize(
    ("lang", "why", "what_changed"), [("es", "Por qué:", "Qué cambió:"), ("en", "Why:", "What changed:")]
)
def test_a_correction_sms_gives_its_reason_as_why_as_email_and_push_do(
    settings: Settings, db: Database, routing: Routing, lang: str, why: str, what_changed: str
) -> None:
    """The reason is why the update was corrected: the email's "Why: …" (its "What changed:"
    heads the replaced text), the push's "Why: …"; the SMS said "What changed: Wrong street"."""
    content = _correction(db, routing, lang)
    sms = as_one(render_sms(content))
    env = make_templates(dataclasses.replace(settings, languages=LANGUAGES.tags)).env
    assert f"{why} Wrong street" in render_email(env, content).text
    assert f"{why} Wrong street" in json.loads(payload(content))["body"]
    assert f"Evacuate Elm St now. {why} Wrong street" in sms
    assert what_changed not in sms


def test_a_long_retraction_push_cuts_only_the_withdrawn_text_and_closes_its_quotation(
    db: Database, routing: Routing
) -> None:
    body = " ".join(f"Evacuate block {n}." for n in range(900))
    content = dataclasses.replace(_retraction(db, routing, "vi"), headline=None, body=body)
    data = payload(content)
    body = json.loads(data)["body"]
    assert len(data) <= MAX_PAYLOAD_BYTES
    assert body.startswith('EXERCISE: RETRACTED: Why: Not a leak. Withdrawn text: "Evacuate block 0. ')
    assert body.endswith('…" Translation being updated.')


@pytest.mark.parametrize(
    ("lang", "stop"), [("es", "Responda STOP para darse de baja."), ("vi", "Reply STOP to stop.")]
)
def test_a_long_link_and_the_stop_line_never_make_an_sms_of_two_segments(
    db: Database, routing: Routing, lang: str, stop: str
) -> None:
    """A county's PUBLIC_URL and a long incident title (its slug cut at 60 characters, then
    "-2" for the second incident of that name), at its 10th update: the link and "Reply STOP"
    together are over 160 characters. Each message is still one segment, the link whole, the
    STOP line last."""
    public_url = "https://emergency-alerts.montgomerycountypolice.maryland.gov"
    title = "Evacuation order for residents of the north hills near Mill Creek Road"
    with db.write() as session:
        create_incident(session, PIO, IncidentDraft(title=title), routing=routing)
        incident, _ = create_incident(session, PIO, IncidentDraft(title=title), routing=routing)
        for n in range(10):
            published = publish_update(
                session,
                PIO,
                incident.slug,
                Draft(body=f"Leave now by Route {n}. Shelter open at Lincoln High School gym."),
                routing=routing,
            )
        content = AlertSource(session, published.event.event_id, LANGUAGES, public_url).content(lang)
    messages = render_sms(content)
    assert f"{incident.slug}/updates/10?lang=" in content.url and len(content.url) > 130
    assert [sms_text.segments(message).count for message in messages] == [1] * len(messages), messages
    assert any(content.url in message.split() for message in messages), "the link is never cut"
    assert as_one(messages).endswith(f"{content.url} {stop}")
