"""SMS alerts end to end through the real `twilio` library against a fake Twilio on
127.0.0.1: ask on the page, get a code (and nothing else), confirm with it, get each
published version in one's language with the labels first and the link last, and STOP by a
signed inbound message. Wrong codes are counted; Twilio's 429/5xx are retried, 21610
unsubscribes."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.datastructures import Secret
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from console.alert_models import AlertDelivery, AlertState, Subscriber, SubscriberStatus
from console.alerts.sms import Pace, SmsSender
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain import sms_text, subscriptions
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, correct_update, publish_update, retract_update
from console.models import utcnow
from console.settings import Settings
from console.web.app import create_app
from tests.alerts.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio, fake_twilio_server
from tests.alerts.support import form_token
from tests.alerts.test_email import drain
from tests.conftest import PIO
from tests.support.sms import as_one

PUBLIC_URL = "https://police.example"
PHONE = "+34600111222"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    yield from fake_twilio_server()


@pytest.fixture
def sms_settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return dataclasses.replace(
        settings,
        channels=("subscribers",),
        languages=("en", "es"),
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=Secret(AUTH_TOKEN),
        twilio_from=FROM,
        twilio_base_url=twilio.base_url,
        sms_per_second=100.0,
    )


def ask_by_sms(client: TestClient, phone: str, *, lang: str = "en", incident: str = "") -> Any:
    """The response to `POST /subscribe` for SMS alerts."""
    page = client.get("/subscribe", params={"lang": lang})
    return client.post(
        "/subscribe",
        data={
            "csrf_token": form_token(page.text),
            "channel": "sms",
            "phone": phone,
            "lang": lang,
            "incident": incident,
        },
    )


def enter_code(client: TestClient, phone: str, code: str, *, incident: str = "") -> int:
    page = client.get("/subscribe")
    response = client.post(
        "/subscribe/code",
        data={"csrf_token": form_token(page.text), "phone": phone, "incident": incident, "code": code},
    )
    return response.status_code


def code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found, f"a 6-digit code in {text!r}"
    return found.group(1)


def inbound(client: TestClient, body: str, *, phone: str = PHONE, token: str = AUTH_TOKEN) -> tuple[int, str]:
    params = {
        "From": phone,
        "To": FROM,
        "Body": body,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
    }
    signature = RequestValidator(token).compute_signature(f"{PUBLIC_URL}/sms/inbound", params)
    response = client.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signature})
    return response.status_code, response.text


def status_of(db: Database) -> list[tuple[str | None, SubscriberStatus]]:
    with db.read() as session:
        return [(s.address, s.status) for s in session.scalars(select(Subscriber).order_by(Subscriber.id))]


def test_subscribe_by_code_get_alerts_in_ones_language_and_stop(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    routing = routing_for(sms_settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        slug = incident.slug
    with TestClient(create_app(sms_settings), base_url=PUBLIC_URL) as client:
        assert 'name="phone"' in client.get("/subscribe").text
        page = ask_by_sms(client, "+34 600 111 222", lang="es")
        assert page.status_code == 200 and 'action="/subscribe/code?lang=es"' in page.text
        (code_sms,) = twilio.to(PHONE)
        code = code_in(code_sms)
        # In the language chosen on the form, like every message after it.
        assert (
            code_sms == f"{sms_settings.agency_name}: su código de alertas es {code}. Caduca en 60 minutos."
        )
        # Asking again within the hour: the same page, no second message.
        assert ask_by_sms(client, PHONE, lang="es").status_code == 200
        assert len(twilio.to(PHONE)) == 1
        assert status_of(db) == [(PHONE, SubscriberStatus.PENDING)]

        # Nothing but the code goes out before confirmation.
        with db.write() as session:
            publish_update(session, PIO, slug, Draft(body="Gas smell reported."), routing=routing)
        drain(sms_settings, db)
        assert len(twilio.to(PHONE)) == 1

        wrong = "000000" if code != "000000" else "111111"
        assert enter_code(client, PHONE, wrong) == 400
        confirmed = client.post(
            "/subscribe/code?lang=es",
            data={"csrf_token": form_token(client.get("/subscribe").text), "phone": PHONE, "code": code},
        )
        assert confirmed.status_code == 200 and "Recibirá alertas por mensaje de texto" in confirmed.text
        assert enter_code(client, PHONE, code) == 400  # used
        assert status_of(db) == [(PHONE, SubscriberStatus.CONFIRMED)]

        with db.write() as session:
            published = publish_update(
                session, PIO, slug, Draft(body="Evacuate Elm St.", preliminary=True), routing=routing
            )
            update_id, seq = published.update.id, published.update.seq
        drain(sms_settings, db)
        # "Traducción" makes it UCS-2 (70 a message): three numbered messages, each one segment.
        messages = twilio.to(PHONE)[1:]
        assert len(messages) == 3 and all(sms_text.segments(text).count == 1 for text in messages)
        alert = as_one(messages)
        link = f"{PUBLIC_URL}/incidents/{slug}"
        # Labels first, in Spanish; the English text (no translation yet); the link, then how to
        # stop, in Spanish, last.
        assert alert.startswith("PRELIMINAR: Gas leak: Evacuate Elm St. Traducción en actualización.")
        assert re.search(
            re.escape(link) + r"\S*" + str(seq) + r"\S* Responda STOP para darse de baja\.$", alert
        ), alert

        with db.write() as session:
            correct_update(
                session,
                PIO,
                update_id,
                Draft(body="Evacuate Oak St."),
                reason="Wrong street",
                corrects_version=1,
                routing=routing,
            )
        drain(sms_settings, db)
        correction = as_one(twilio.to(PHONE)[4:])
        assert correction.startswith("CORRECCIÓN: PRELIMINAR: Gas leak: Evacuate Oak St.")
        assert "Por qué: Wrong street" in correction  # why, as the email and the push say it

        # STOP unsigned, or signed with another token: refused, nothing changes.
        assert client.post("/sms/inbound", data={"From": PHONE, "Body": "STOP"}).status_code == 403
        assert inbound(client, "STOP", token="not-the-token")[0] == 403
        assert status_of(db) == [(PHONE, SubscriberStatus.CONFIRMED)]
        status, twiml = inbound(client, " stop ")
        assert status == 200 and twiml.startswith("<?xml") and "<Response" in twiml
        assert status_of(db) == [(None, SubscriberStatus.UNSUBSCRIBED)]

        sent = len(twilio.to(PHONE))
        with db.write() as session:
            publish_update(session, PIO, slug, Draft(body="All clear."), routing=routing)
        drain(sms_settings, db)
        assert len(twilio.to(PHONE)) == sent


def test_help_and_start_answer_with_twiml(sms_settings: Settings, twilio: FakeTwilio) -> None:
    with TestClient(create_app(sms_settings), base_url=PUBLIC_URL) as client:
        status, help_reply = inbound(client, "HELP")
        assert status == 200
        assert f"<Message>{sms_settings.agency_name} incident alerts. Reply STOP to stop." in help_reply
        status, start_reply = inbound(client, "START")
        assert status == 200 and f"{PUBLIC_URL}/subscribe</Message>" in start_reply
    assert twilio.requests == 0


def test_five_wrong_codes_void_the_code(sms_settings: Settings, db: Database, twilio: FakeTwilio) -> None:
    with TestClient(create_app(sms_settings), base_url=PUBLIC_URL) as client:
        assert ask_by_sms(client, PHONE).status_code == 200
        code = code_in(twilio.to(PHONE)[0])
        wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 6)]
        assert [enter_code(client, PHONE, guess) for guess in wrong[:4]] == [400] * 4
        assert enter_code(client, PHONE, wrong[4]) == 400
        assert enter_code(client, PHONE, code) == 400  # the right code, too late
    assert status_of(db) == [(PHONE, SubscriberStatus.PENDING)]


def test_a_bad_number_is_refused_and_nothing_is_stored_or_sent(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    with TestClient(create_app(sms_settings), base_url=PUBLIC_URL) as client:
        for phone in ("0600111222", "+1234567", "+1234567890123456", "+3460011122a", ""):
            response = ask_by_sms(client, phone)
            assert response.status_code == 400, phone
            assert "international format, such as +15551234567" in response.text
        # No CSRF token: refused too.
        assert client.post("/subscribe", data={"channel": "sms", "phone": PHONE}).status_code == 400
    assert status_of(db) == [] and twilio.requests == 0


def confirmed_subscriber(db: Database, settings: Settings, phone: str) -> int:
    secret = settings.secret_key._value
    with db.write() as session:
        asked = subscriptions.subscribe_sms(
            session, secret_key=secret, phone=phone, lang="en", incident_slug="", now=utcnow()
        )
        assert asked is not None
        confirmed = subscriptions.confirm_sms(
            session, secret_key=secret, phone=phone, incident_slug="", code=asked.code, now=utcnow()
        )
        assert confirmed is not None
        return confirmed.id


def test_429_and_500_are_retried_and_21610_unsubscribes(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    routing = routing_for(sms_settings)
    subscriber_id = confirmed_subscriber(db, sms_settings, PHONE)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)
        slug = incident.slug
        update_id = publish_update(session, PIO, slug, Draft(body="River rising."), routing=routing).update.id
    twilio.failures = [(429, 20429), (500, 20500)]
    drain(sms_settings, db, retry_pause=0.01)
    assert twilio.to(PHONE) == [
        f"PRELIMINARY: Flood: River rising. {PUBLIC_URL}/incidents/{slug}/updates/1 Reply STOP to stop."
    ]
    with db.read() as session:
        (delivery,) = session.scalars(select(AlertDelivery)).all()
    assert (delivery.state, delivery.attempts) == (AlertState.SENT, 3)

    twilio.failures = [(400, 21610)]
    with db.write() as session:
        retract_update(session, PIO, update_id, reason="Sent in error", routing=routing)
    drain(sms_settings, db)
    with db.read() as session:
        failed = session.scalars(select(AlertDelivery).where(AlertDelivery.id != delivery.id)).one()
        subscriber = session.get_one(Subscriber, subscriber_id)
    assert failed.state is AlertState.FAILED and "21610" in (failed.error or "")
    assert subscriber.status is SubscriberStatus.UNSUBSCRIBED and subscriber.address is None


def test_a_long_alert_is_several_messages_each_one_segment_the_link_last(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    routing = routing_for(sms_settings)
    confirmed_subscriber(db, sms_settings, PHONE)
    body = " ".join(f"Street{n} is closed." for n in range(40))
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Closures"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body=body), routing=routing)
    drain(sms_settings, db)
    messages = twilio.to(PHONE)
    assert len(messages) > 1
    assert all(sms_text.segments(message).count == 1 for message in messages)
    link = f"{PUBLIC_URL}/incidents/{incident.slug}/updates/1"
    assert as_one(messages) == f"PRELIMINARY: Closures: {body} {link} Reply STOP to stop."


def test_without_twilio_settings_sms_is_in_preview(settings: Settings) -> None:
    sender = SmsSender.from_settings(settings, env=None)  # type: ignore[arg-type]
    assert sender.preview_note == "sms in preview: TWILIO_ACCOUNT_SID not set"


def test_the_per_address_limit_counts_a_number_however_it_is_written(
    sms_settings: Settings, twilio: FakeTwilio
) -> None:
    with TestClient(create_app(sms_settings), base_url=PUBLIC_URL) as client:
        written = [PHONE, "+34 600 111 222", "+34-600-111-222", "+34 (600) 111 222", "+34.600.111.222"]
        codes = [ask_by_sms(client, phone).status_code for phone in written]
    assert codes == [200, 200, 200, 429, 429]
    assert len(twilio.to(PHONE)) == 1  # one code an hour


def test_the_sender_keeps_to_sms_per_second() -> None:
    pace = Pace(20.0)
    started = time.monotonic()
    for _ in range(5):
        pace.wait()
    assert time.monotonic() - started >= 4 / 20 - 0.01


def test_a_code_expires(sms_settings: Settings, db: Database) -> None:
    secret = sms_settings.secret_key._value
    asked_at = utcnow()
    with db.write() as session:
        asked = subscriptions.subscribe_sms(
            session, secret_key=secret, phone=PHONE, lang="en", incident_slug="", now=asked_at
        )
        assert asked is not None
        late = asked_at + subscriptions.SMS_CODE_LIFETIME + timedelta(seconds=1)
        assert (
            subscriptions.confirm_sms(
                session, secret_key=secret, phone=PHONE, incident_slug="", code=asked.code, now=late
            )
            is None
        )
    assert status_of(db) == [(PHONE, SubscriberStatus.PENDING)]


def test_a_wrong_auth_token_is_refused_by_twilio_and_recorded(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    routing = routing_for(sms_settings)
    confirmed_subscriber(db, sms_settings, PHONE)
    wrong = dataclasses.replace(sms_settings, twilio_auth_token=Secret("not-the-token"))
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Fire"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Smoke."), routing=routing)
    drain(wrong, db)
    with db.read() as session:
        (delivery,) = session.scalars(select(AlertDelivery)).all()
    assert delivery.state is AlertState.FAILED and "401" in (delivery.error or "")
    assert delivery.attempts == 1 and twilio.sent == []


def test_codes_go_only_to_allowed_prefixes_and_at_most_sms_codes_per_hour(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    """Against SMS pumping: a number outside SMS_ALLOWED_PREFIXES gets a clear refusal and no
    message, and past SMS_CODES_PER_HOUR codes in the hour, agency-wide, every ask is 429."""
    guarded = dataclasses.replace(
        sms_settings, sms_allowed_prefixes=("+1", "+34"), sms_codes_per_hour=3, subscribe_ip_limit=100
    )
    with TestClient(create_app(guarded), base_url=PUBLIC_URL) as client:
        premium = ask_by_sms(client, "+88213 000 0001")
        assert premium.status_code == 400 and "numbers starting with +1, +34 only." in premium.text
        answers = [ask_by_sms(client, f"+3460011{n:04d}").status_code for n in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert len(twilio.sent) == 3 and all(sent.to.startswith("+34") for sent in twilio.sent)
    assert [phone for phone, _ in status_of(db)] == [f"+3460011{n:04d}" for n in range(3)]


def test_guessing_codes_is_limited_per_client_address_before_any_write(
    sms_settings: Settings, db: Database, twilio: FakeTwilio
) -> None:
    limited = dataclasses.replace(sms_settings, subscribe_ip_limit=4)
    with TestClient(create_app(limited), base_url=PUBLIC_URL) as client:
        assert ask_by_sms(client, PHONE).status_code == 200  # one of the 4
        guesses = [enter_code(client, PHONE, f"{n:06d}") for n in range(5)]
    assert guesses == [400, 400, 400, 429, 429]
    with db.read() as session:
        assert session.scalars(select(Subscriber.confirm_attempts)).one() == 3  # the 429s wrote nothing
