"""Fixtures for the feeds tests: publishing helpers, the feeds channel run through the real
dispatcher, and the OASIS CAP 1.2 schema."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from console.channels.registry import build_channels
from console.db import Database
from console.dispatcher import Dispatcher, RetryPolicy
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.resolution import reopen_incident, resolve_with_all_clear
from console.domain.updates import (
    NO_TRANSLATIONS,
    Draft,
    confirm_update,
    correct_update,
    publish_update,
    retract_update,
)
from console.feeds.paths import Target
from console.feeds.writer import FeedFiles
from console.live.bus import LiveBus
from console.models import Delivery, utcnow
from console.settings import Settings
from tests.conftest import PIO

DATA = Path(__file__).parent / "data"
CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
# Published times in the tests: fixed, a minute apart, so order and dates are known.
T0 = datetime(2026, 3, 14, 9, 30, 15, 250_000, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True)
class Sample:
    """Incident "gas-leak": update 1 went original → correction → confirmation → retraction,
    update 2 is a preliminary original. A second incident has one confirmed update."""

    slug: str
    first_update_id: int
    other_slug: str


def make_incident(
    db: Database,
    routing: Routing,
    title: str,
    *,
    location: str = "Elm St and 3rd Ave",
    category: str = "Fire",
    alert_status: str | None = None,
    minute: int = 0,
) -> str:
    with db.write() as session:
        incident, _ = create_incident(
            session,
            PIO,
            IncidentDraft(
                title=title,
                summary="Crews are on scene.",
                location=location,
                category=category,
                alert_status=alert_status,
            ),
            routing=routing,
            now=at(minute),
        )
        return incident.slug


def publish(
    db: Database,
    routing: Routing,
    slug: str,
    body: str,
    *,
    headline: str | None = None,
    preliminary: bool | None = None,
    minute: int = 1,
) -> int:
    with db.write() as session:
        return publish_update(
            session,
            PIO,
            slug,
            Draft(body=body, headline=headline, preliminary=preliminary),
            routing=routing,
            now=at(minute),
        ).update.id


def correct(
    db: Database, routing: Routing, update_id: int, body: str, reason: str, corrects: int, minute: int
) -> None:
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body=body),
            reason=reason,
            corrects_version=corrects,
            routing=routing,
            now=at(minute),
        )


def confirm(db: Database, routing: Routing, update_id: int, corrects: int, minute: int) -> None:
    with db.write() as session:
        confirm_update(session, PIO, update_id, corrects_version=corrects, routing=routing, now=at(minute))


def retract(db: Database, routing: Routing, update_id: int, reason: str, minute: int) -> None:
    with db.write() as session:
        retract_update(session, PIO, update_id, reason=reason, routing=routing, now=at(minute))


def resolve(db: Database, routing: Routing, slug: str, body: str, minute: int) -> int:
    """Resolves the incident with an all-clear; returns the all-clear update's id."""
    with db.write() as session:
        return resolve_with_all_clear(
            session, PIO, slug, body, translations=NO_TRANSLATIONS, routing=routing, now=at(minute)
        ).all_clear.update.id


def reopen(db: Database, routing: Routing, slug: str, reason: str, minute: int) -> None:
    with db.write() as session:
        reopen_incident(session, PIO, slug, reason, routing=routing, now=at(minute))


@pytest.fixture
def sample(db: Database, routing: Routing) -> Sample:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    first = publish(db, routing, slug, "Evacuate Oak St.", headline="Evacuation", minute=1)
    correct(db, routing, first, "Evacuate Elm St.", "Wrong street", corrects=1, minute=2)
    confirm(db, routing, first, corrects=2, minute=3)
    publish(db, routing, slug, "Road closed at 3rd Ave.", minute=4)
    retract(db, routing, first, "Evacuation lifted by mistake", minute=5)
    other = make_incident(db, routing, "Water main break", category="Infra", minute=6)
    publish(db, routing, other, "5th St closed.", preliminary=False, minute=7)
    return Sample(slug, first, other)


FAST_RETRY = RetryPolicy(5, 0.01, 0.02)


class AheadClock:
    """The time now, or as far ahead of it as a test has moved it: a dispatcher on it finds a
    retry due without the test sleeping through the backoff."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead


def drain(
    settings: Settings,
    db: Database,
    channels: tuple[str, ...] = ("feeds",),
    retry: RetryPolicy = FAST_RETRY,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Run the real dispatcher over the given channels until nothing is due."""
    built = build_channels(settings, db, LiveBus.from_settings(settings))
    chosen = {name: built[name] for name in channels}
    dispatcher = Dispatcher(
        db, chosen, poll_seconds=0.02, lease_seconds=settings.outbox_lease_seconds, retry=retry, clock=clock
    )
    asyncio.run(dispatcher.drain())


def deliveries(db: Database, channel: str) -> list[Delivery]:
    with db.read() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.channel == channel).order_by(Delivery.id))
        )


def render(settings: Settings, db: Database, target: Target) -> bytes:
    """What the feeds channel would write for `target` now."""
    with db.read() as session:
        return FeedFiles(settings).render(session, target)[target]


@pytest.fixture(scope="session")
def cap_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "CAP-v1.2.xsd")))


CAP_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
CAP_FORBIDDEN = re.compile(r"[\s,<&]")


def cap_text(root: etree._Element, path: str) -> str:
    found = root.find(path, {"cap": CAP_NS})
    assert found is not None, f"no {path}"
    return found.text or ""


def valid_cap(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    """Parse a CAP message, validate it against the OASIS schema and the rules the schema
    cannot express, and return its root."""
    root = etree.fromstring(xml)
    schema.assertValid(root)
    sent = cap_text(root, "cap:sent")
    assert CAP_TIME.fullmatch(sent) and not sent.endswith("Z")
    assert not sent.endswith("+00:00"), "UTC is written -00:00"
    for field in ("cap:identifier", "cap:sender"):
        assert not CAP_FORBIDDEN.search(cap_text(root, field)), field
    return root
