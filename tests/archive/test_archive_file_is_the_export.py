"""The `archive` channel's file of an incident is byte for byte `GET /incidents/{slug}.json`
(one serializer): after every step (create, publish, translate, correct, confirm, retract,
a second incident) and once every channel's deliveries are recorded. `exported_at` is the
time of the incident's last change, so reading it twice without a change gives the same."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from console.channels.archive import ArchiveChannel
from console.db import Database
from console.domain import exports
from console.domain.events import IncidentCreated
from console.domain.outbox import Routing
from console.settings import Settings
from console.web.app import create_app
from tests.archive.support import deliver_everything
from tests.feeds.conftest import at, confirm, correct, make_incident, publish, retract
from tests.feeds.test_languages import LANGUAGES, translate


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_the_archive_file_is_the_json_export_after_every_step(
    settings: Settings, db: Database, routing: Routing, client: TestClient
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    update: list[int] = []
    steps: list[tuple[str, Callable[[], object]]] = [
        ("publish", lambda: update.append(publish(db, routing, slug, "Evacuate Oak St.", minute=1))),
        ("translate", lambda: translate(db, routing, update[0], 1, "Evacúen la calle Oak.", minute=2)),
        ("correct", lambda: correct(db, routing, update[0], "Evacuate Elm St.", "Wrong street", 1, minute=3)),
        ("confirm", lambda: confirm(db, routing, update[0], corrects=2, minute=4)),
        ("another incident", lambda: make_incident(db, routing, "Water main", minute=5)),
        ("retract", lambda: retract(db, routing, update[0], "Sent in error", minute=6)),
    ]
    deliver_everything(settings, db)
    path = settings.archive_dir / "incidents" / f"{slug}.json"
    for name, step in steps:
        step()
        deliver_everything(settings, db)
        served = client.get(f"/incidents/{slug}.json")
        assert served.status_code == 200
        assert path.read_bytes() == served.content, f"after {name}: the file is not the export"
        assert client.get(f"/incidents/{slug}.json").content == served.content, "no request time in it"
        record = json.loads(served.content)
        assert {"format", "audit_head", "exported_at", "signing"} <= record.keys()
        states = {d["state"] for u in record["updates"] for v in u["versions"] for d in v["deliveries"]}
        assert states and states <= {"sent", "skipped"}, f"after {name}: every delivery recorded ({states})"
    assert record["exported_at"] >= at(6).isoformat()
    versions = record["updates"][0]["versions"]
    assert [v["kind"] for v in versions] == ["original", "correction", "confirmation", "retraction"]
    assert "archive" in {d["channel"] for d in versions[-1]["deliveries"]}
    # the translation added to version 1 went out on its own, and its deliveries say so
    assert ("archive", "es") in {(d["channel"], d["translation"]) for d in versions[0]["deliveries"]}


def test_the_outcomes_of_a_publication_share_one_rewrite(
    settings: Settings, db: Database, routing: Routing, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    publish(db, routing, slug, "Evacuate Oak St.", minute=1)
    deliver_everything(settings, db)
    channel = ArchiveChannel.from_settings(settings, db)
    channel.settle_seconds = 0.3
    reads: list[str] = []
    public_record = exports.public_record

    def counted(session: Session, asked: str, **options: Any) -> dict[str, Any]:
        reads.append(asked)
        return public_record(session, asked, **options)

    monkeypatch.setattr(exports, "public_record", counted)
    event = IncidentCreated(event_id=1, incident_id=1, incident_slug=slug, occurred_at=at(0))

    async def outcomes(count: int) -> list[str]:
        for _ in range(count):
            await channel.delivery_recorded(event)
            await asyncio.sleep(0.01)
        return list(reads)

    async def in_the_background() -> tuple[list[str], list[str], list[str]]:
        background = asyncio.create_task(channel.run_background())
        await asyncio.sleep(0)  # it starts listening
        during = await outcomes(8)
        await asyncio.sleep(0.6)
        after = list(reads)
        await outcomes(1)
        await asyncio.sleep(0.6)
        background.cancel()
        return during, after, list(reads)

    during, after, later = asyncio.run(in_the_background())
    assert during == []  # nothing read while the publication's outcomes come in
    assert after == [slug]  # eight outcomes: one rewrite, once they settled
    assert later == [slug, slug]  # a later outcome gets a rewrite of its own

    async def drained() -> tuple[bool, bool]:
        await outcomes(3)
        return await channel.drain_background(), await channel.drain_background()

    assert asyncio.run(drained()) == (True, False)  # `drain` rewrites at once, and only once
    assert reads == [slug, slug, slug]
    served = client.get(f"/incidents/{slug}.json")
    assert channel.path_for(slug).read_bytes() == served.content
