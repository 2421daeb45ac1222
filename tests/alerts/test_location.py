"""Alerts only for a location (issue 17): a resident gives a point or a ZIP code on
/subscribe (or with a browser's push subscription) and gets only the incidents whose area, as
it stood when the update was published, holds it or names it; end to end against a real SMTP
server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from console.alert_models import AlertDelivery, AlertState, Subscriber, SubscriberStatus
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain import fanout, subscriptions
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.subscriber_location import Location
from console.domain.updates import Draft, publish_update
from console.models import OutboxEvent, utcnow
from console.settings import Settings
from console.web.app import create_app
from tests.alerts.support import Inbox, form_token, smtp_server, text_of
from tests.alerts.test_email import drain
from tests.alerts.test_web_push import Browser, push_subscribers
from tests.conftest import PIO

# Downtown, [lat, lon], closed; a 2 km circle elsewhere; and ZIP code 20001.
SQUARE = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
AREA = {
    "description": "Downtown and the river crossing",
    "polygons": [SQUARE],
    "circles": [{"lat": 40.0, "lon": -75.0, "radius_km": 2.0}],
    "geocodes": [{"name": "ZIP", "value": "20001"}],
}
# In id order, so that a whole batch (SUBSCRIBER_BATCH_SIZE 3 in these tests) is out of the area.
RESIDENTS: list[tuple[str, Location | None]] = [
    ("far1@example.org", Location(lat=-33.9, lon=151.2)),
    ("far2@example.org", Location(lat=38.95, lon=-77.02)),  # just north of the square
    ("zip2@example.org", Location(zip="20002")),
    ("square@example.org", Location(lat=38.91, lon=-77.02)),
    ("circle@example.org", Location(lat=40.0, lon=-74.98)),  # 1.7 km east of the center
    ("edge@example.org", Location(lat=40.0, lon=-74.97)),  # 2.6 km: outside
    ("zip1@example.org", Location(zip="20001")),
    ("all@example.org", None),
]
CONCERNED = ["square@example.org", "circle@example.org", "zip1@example.org", "all@example.org"]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server()


@pytest.fixture
def alert_settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    return dataclasses.replace(
        settings,
        channels=("subscribers",),
        smtp_url=Secret(f"smtp://127.0.0.1:{smtp[1]}"),
        mail_from="alerts@police.example",
        public_url="https://police.example",
        subscriber_batch_size=3,
        push_allow_private=True,
    )


def confirmed(db: Database, settings: Settings, residents: list[tuple[str, Location | None]]) -> None:
    secret = settings.secret_key._value
    with db.write() as session:
        for address, location in residents:
            asked = subscriptions.subscribe(
                session,
                secret_key=secret,
                email=address,
                lang="en",
                incident_slug="",
                now=utcnow(),
                location=location,
            )
            assert asked is not None
            subscriptions.confirm(session, secret_key=secret, token=asked.token, now=utcnow())


def test_only_the_subscribers_an_area_concerns_get_its_alert(
    alert_settings: Settings,
    db: Database,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, _ = smtp
    routing = routing_for(alert_settings)
    with db.write() as session:
        mapped, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak", area=AREA), routing=routing)
        unmapped, _ = create_incident(session, PIO, IncidentDraft(title="Phone outage"), routing=routing)
        mapped_slug, unmapped_slug = mapped.slug, unmapped.slug
    confirmed(db, alert_settings, RESIDENTS)
    with db.write() as session:
        version_id = publish_update(
            session, PIO, mapped_slug, Draft(body="Evacuate Elm St."), routing=routing
        ).version.id
        event_id = session.scalars(select(OutboxEvent.id).where(OutboxEvent.version_id == version_id)).one()
    drain(alert_settings, db)
    assert sorted(inbox.recipients()) == sorted(CONCERNED)
    with db.read() as session:
        rows = session.scalars(select(AlertDelivery).where(AlertDelivery.event_id == event_id)).all()
        (line,) = [p.line for p in fanout.progress(session, [event_id])[event_id] if p.channel == "email"]
    # The others are not recipients: no delivery row, not counted, not failed.
    assert len(rows) == len(CONCERNED) and {row.state for row in rows} == {AlertState.SENT}
    assert line == "Email 4 of 4 sent, 0 failed (done)"

    # An incident with no mapped area concerns everyone.
    with db.write() as session:
        publish_update(session, PIO, unmapped_slug, Draft(body="911 works again."), routing=routing)
    drain(alert_settings, db)
    assert len(inbox.recipients()) == len(CONCERNED) + len(RESIDENTS)


def test_the_area_is_the_one_in_force_when_the_update_was_published(
    alert_settings: Settings,
    db: Database,
    smtp: tuple[Inbox, int],
) -> None:
    """Mapped after the update was published but before its alerts went out: the update went
    out with no area, so to everyone; the next one only to those the area concerns."""
    inbox, _ = smtp
    routing = routing_for(alert_settings)
    now = utcnow() - timedelta(minutes=1)  # every step in the past: each is due at once
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing, now=now)
        slug = incident.slug
    confirmed(db, alert_settings, RESIDENTS)
    with db.write() as session:
        publish_update(session, PIO, slug, Draft(body="Smell of gas."), routing=routing, now=now)
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(area=AREA),
            reason="Area mapped",
            corrects_version=1,
            routing=routing,
            now=now + timedelta(seconds=1),
        )
    drain(alert_settings, db)
    assert len(inbox.recipients()) == len(RESIDENTS)
    with db.write() as session:
        publish_update(
            session, PIO, slug, Draft(body="Evacuate."), routing=routing, now=now + timedelta(seconds=2)
        )
    drain(alert_settings, db)
    assert sorted(inbox.recipients()[len(RESIDENTS) :]) == sorted(CONCERNED)


def ask(client: TestClient, **fields: str) -> Any:
    page = client.get("/subscribe")
    data = {"csrf_token": form_token(page.text), "lang": "en", "incident": "", **fields}
    return client.post("/subscribe", data=data)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"area_point": "38.9"}, "Enter your location as latitude, longitude in degrees"),
        ({"area_point": "95, -77"}, "Enter your location as latitude, longitude in degrees"),
        ({"area_zip": "2000"}, "Enter a US ZIP code of 5 digits"),
        ({"area_point": "38.9, -77", "area_zip": "20001"}, "Give either a location or a ZIP code, not both."),
    ],
)
def test_a_bad_location_re_renders_the_form_with_its_message(
    alert_settings: Settings,
    db: Database,
    smtp: tuple[Inbox, int],
    fields: dict[str, str],
    message: str,
) -> None:
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        response = ask(client, email="ana@example.org", **fields)
    assert response.status_code == 400 and message in response.text
    assert 'value="ana@example.org"' in response.text  # what was typed stays
    for value in fields.values():
        assert f'value="{value}"' in response.text and 'aria-invalid="true"' in response.text
    with db.read() as session:
        assert session.scalars(select(Subscriber)).all() == []
    assert smtp[0].count() == 0


def test_the_form_stores_the_location_and_unsubscribing_deletes_it(
    alert_settings: Settings,
    db: Database,
    smtp: tuple[Inbox, int],
) -> None:
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        form = client.get("/subscribe").text
        assert 'name="area_point"' in form and 'name="area_zip"' in form
        assert "Incidents without a mapped area go to everyone" in form
        assert "deleted with your address when you unsubscribe" in form
        assert '<script src="/static/js/locate.js" defer></script>' in form
        assert client.get("/static/js/locate.js").status_code == 200
        assert ask(client, email="ana@example.org", area_point=" 38.912345678, -77.0201 ").status_code == 200
        assert ask(client, email="ben@example.org", area_zip="20001-1234").status_code == 200
        assert ask(client, channel="sms", phone="+15551234567", area_zip="20002").status_code == 200
        with db.read() as session:
            stored = {
                s.address: (s.area_lat, s.area_lon, s.area_zip) for s in session.scalars(select(Subscriber))
            }
        assert stored == {
            "ana@example.org": (38.91235, -77.0201, None),
            "ben@example.org": (None, None, "20001"),
            "+15551234567": (None, None, "20002"),
        }
        # The confirmation repeats what was asked for.
        inbox = smtp[0]
        assert "whose mapped area holds the location 38.91235,-77.0201, and incidents without" in text_of(
            inbox.to("ana@example.org")[0]
        )
        assert "whose mapped area lists the ZIP code 20001" in text_of(inbox.to("ben@example.org")[0], "html")
        assert ask(client, email="cy@example.org").status_code == 200
        assert "Only for" not in text_of(inbox.to("cy@example.org")[0])
        secret = alert_settings.secret_key._value
        with db.write() as session:
            for subscriber in session.scalars(select(Subscriber)):
                subscriber.status = SubscriberStatus.CONFIRMED
                subscriber.unsubscribe_token_hash = subscriptions.token_hash(
                    subscriptions.unsubscribe_token(secret, subscriber.id)
                )
            ana_id = session.scalars(
                select(Subscriber.id).where(Subscriber.address == "ana@example.org")
            ).one()
        token = subscriptions.unsubscribe_token(secret, ana_id)
        assert client.post(f"/unsubscribe?token={token}").status_code == 200
    with db.read() as session:
        ana = session.get_one(Subscriber, ana_id)
        assert ana.status is SubscriberStatus.UNSUBSCRIBED
        assert (ana.address, ana.area_lat, ana.area_lon, ana.area_zip) == (None, None, None, None)
    # An SMS STOP deletes it too.
    with db.write() as session:
        assert subscriptions.stop_sms(session, secret_key=secret, phone="+15551234567", now=utcnow()) == 1
    with db.read() as session:
        texted = session.scalars(select(Subscriber).where(Subscriber.channel == "sms")).one()
        assert (texted.address, texted.area_zip) == (None, None)


def test_a_confirmed_subscriptions_location_is_not_changed_by_asking_again(
    alert_settings: Settings,
    db: Database,
) -> None:
    """Anyone can type someone's address: asking again must not narrow their alerts."""
    confirmed(db, alert_settings, [("ana@example.org", None)])
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        assert ask(client, email="ana@example.org", area_zip="99999").status_code == 200
    with db.read() as session:
        ana = session.scalars(select(Subscriber)).one()
        assert ana.status is SubscriberStatus.CONFIRMED and ana.area_zip is None


def _push(browser: Browser, name: str, **extra: str) -> dict[str, Any]:
    return {"endpoint": f"http://127.0.0.1:9/push/{name}", "keys": browser.keys(), "lang": "en", **extra}


def test_a_browser_subscribes_with_a_location_and_a_bad_one_is_a_422(
    alert_settings: Settings,
    db: Database,
) -> None:
    with TestClient(create_app(alert_settings)) as client:
        bad = client.post("/push/subscriptions", json=_push(Browser.new(), "a", area_point="38.9;-200"))
        assert bad.status_code == 422 and list(bad.json()["error"]["fields"]) == ["area_point"]
        bad = client.post("/push/subscriptions", json=_push(Browser.new(), "a", area_zip="ABCDE"))
        assert bad.status_code == 422 and list(bad.json()["error"]["fields"]) == ["area_zip"]
        assert push_subscribers(db) == []
        located = client.post(
            "/push/subscriptions", json=_push(Browser.new(), "b", area_point="38.91,-77.02")
        )
        assert located.status_code == 201, located.text
        assert located.json()["area_point"] == "38.91,-77.02" and located.json()["area_zip"] is None
        zipped = client.post("/push/subscriptions", json=_push(Browser.new(), "c", area_zip="20001"))
        assert zipped.status_code == 201 and zipped.json()["area_zip"] == "20001"
        script = client.get("/static/js/push.js").text
        assert '"area_point", "area_zip"' in script
    stored = {s.address: (s.area_lat, s.area_lon, s.area_zip) for s in push_subscribers(db)}
    assert stored == {
        "http://127.0.0.1:9/push/b": (38.91, -77.02, None),
        "http://127.0.0.1:9/push/c": (None, None, "20001"),
    }
