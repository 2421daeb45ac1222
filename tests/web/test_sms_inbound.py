"""POST /sms/inbound acts on each message once, by its MessageSid: Twilio retries a webhook, and
anyone who captured a signed request can send it again (the signature has no timestamp). A
replay changes nothing and sends no second reply."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import Secret
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from console.alert_models import Subscriber, SubscriberStatus
from console.db import Database
from console.domain import subscriptions
from console.models import InboundSmsSeen, utcnow
from console.settings import Settings
from console.web.app import create_app
from console.web.sms_inbound import SEEN_KEPT
from tests.alerts.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM

PUBLIC_URL = "https://police.example"
PHONE = "+34600111222"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    signed = dataclasses.replace(
        settings,
        channels=("subscribers",),
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=Secret(AUTH_TOKEN),
        twilio_from=FROM,
    )
    with TestClient(create_app(signed), base_url=PUBLIC_URL) as test_client:
        yield test_client


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def inbound(client: TestClient, body: str, sid: str) -> str:
    """The TwiML answer to a message signed as Twilio signs it."""
    params = {"From": PHONE, "To": FROM, "Body": body, "MessageSid": sid, "AccountSid": ACCOUNT_SID}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}/sms/inbound", params)
    response = client.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and "<Response" in response.text
    return response.text


def subscribe(db: Database, settings: Settings, *, later: timedelta = timedelta(0)) -> None:
    """PHONE subscribed on the page and confirmed with its code, `later` from now."""
    secret, now = settings.secret_key._value, utcnow() + later
    with db.write() as session:
        asked = subscriptions.subscribe_sms(
            session, secret_key=secret, phone=PHONE, lang="en", incident_slug="", now=now
        )
        assert asked is not None
        confirmed = subscriptions.confirm_sms(
            session, secret_key=secret, phone=PHONE, incident_slug="", code=asked.code, now=now
        )
        assert confirmed is not None


def statuses(db: Database) -> list[SubscriberStatus]:
    with db.read() as session:
        return list(session.scalars(select(Subscriber.status).order_by(Subscriber.id)))


def test_a_replayed_stop_after_a_new_subscription_does_not_end_it(
    client: TestClient, db: Database, settings: Settings
) -> None:
    subscribe(db, settings)
    stop = new_sid()
    inbound(client, "STOP", stop)
    assert statuses(db) == [SubscriberStatus.UNSUBSCRIBED]
    inbound(client, "START", new_sid())
    subscribe(db, settings, later=timedelta(hours=2))  # subscribed again, on the page
    assert inbound(client, "STOP", stop) == inbound(client, "HELP", stop)  # empty TwiML both times
    assert "<Message>" not in inbound(client, "STOP", stop)
    assert statuses(db) == [SubscriberStatus.CONFIRMED]


def test_the_same_message_twice_gets_one_reply(client: TestClient, db: Database) -> None:
    sid = new_sid()
    first, again = inbound(client, "HELP", sid), inbound(client, "HELP", sid)
    assert "<Message>" in first and "Reply STOP to stop" in first
    assert "<Message>" not in again
    assert "<Message>" in inbound(client, "HELP", new_sid()), "another message is answered"
    with db.read() as session:
        assert session.scalars(select(InboundSmsSeen.message_sid)).all().count(sid) == 1


def test_two_deliveries_at_once_cannot_both_be_recorded(db: Database) -> None:
    """What settles a race the check before the insert cannot: the unique constraint."""
    sid = new_sid()
    with db.write() as session:
        session.add(InboundSmsSeen(message_sid=sid, received_at=utcnow()))
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(InboundSmsSeen(message_sid=sid, received_at=utcnow()))


def test_message_sids_past_the_window_are_pruned_as_messages_arrive(client: TestClient, db: Database) -> None:
    old, recent = new_sid(), new_sid()
    with db.write() as session:
        session.add(InboundSmsSeen(message_sid=old, received_at=utcnow() - SEEN_KEPT - timedelta(hours=1)))
        session.add(InboundSmsSeen(message_sid=recent, received_at=utcnow() - SEEN_KEPT + timedelta(hours=1)))
    inbound(client, "HELP", new_sid())
    with db.read() as session:
        kept = set(session.scalars(select(InboundSmsSeen.message_sid)))
    assert old not in kept and recent in kept


def test_a_replay_cannot_rename_its_message_sid(client: TestClient, db: Database, settings: Settings) -> None:
    """Twilio signs the URL and each parameter's name and value run together, in name order, so
    moving the boundary between two parameters keeps the signature: a captured STOP whose
    MessageSid swallows the next parameter ("SM…" + "To" + its value, To gone) is still signed,
    under a MessageSid never seen. Only a MessageSid shaped as Twilio's is acted on."""
    subscribe(db, settings)
    sid = new_sid()
    params = {"From": PHONE, "To": FROM, "Body": "STOP", "MessageSid": sid, "AccountSid": ACCOUNT_SID}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}/sms/inbound", params)
    headers = {"X-Twilio-Signature": signature}
    assert client.post("/sms/inbound", data=params, headers=headers).status_code == 200
    assert statuses(db) == [SubscriberStatus.UNSUBSCRIBED]
    subscribe(db, settings, later=timedelta(hours=2))  # subscribed again, on the page
    moved = {"From": PHONE, "Body": "STOP", "MessageSid": f"{sid}To{FROM}", "AccountSid": ACCOUNT_SID}
    assert RequestValidator(AUTH_TOKEN).validate(f"{PUBLIC_URL}/sms/inbound", moved, signature)
    assert client.post("/sms/inbound", data=moved, headers=headers).status_code == 200
    assert statuses(db) == [SubscriberStatus.CONFIRMED]
