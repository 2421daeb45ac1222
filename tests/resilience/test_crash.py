"""kill -9 of the server: what was acknowledged is kept, and every delivery completes after restart."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from console.channels.registry import routing
from console.db import Database
from console.domain.integrity import verify
from console.models import Delivery, DeliveryState, EventType, UpdateVersion
from console.settings import Settings
from tests.support.factories import make_token
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # kill -9 of server processes


def post(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def open_deliveries(db: Database) -> int:
    with db.read() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]))
            )
            or 0
        )


def wait_all_delivered(db: Database, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while open_deliveries(db):
        assert time.monotonic() < deadline, f"{open_deliveries(db)} deliveries still open after restart"
        time.sleep(0.1)
    with db.read() as session:
        states = set(session.scalars(select(Delivery.state)))
    assert states == {DeliveryState.SENT}


def server_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        # the channels that send for real here (social ones would end as preview skips;
        # tests/social/test_kill.py kills a worker in the middle of a social post)
        "CHANNELS": "live,archive,feeds",
        "FEEDS_DIR": str(tmp_path / "feeds"),
        "OUTBOX_LEASE_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.1",
        **extra,
    }


def test_pending_deliveries_complete_after_kill_9(db: Database, database_url: str, tmp_path: Path) -> None:
    token = make_token(db, "pio")
    server = ServerProcess(server_env(database_url, tmp_path, OUTBOX_IN_PROCESS="false")).start()
    try:
        slug = post(f"{server.url}/api/v1/incidents", token, {"title": "Bridge collapse"})["slug"]
        for n in range(10):
            post(f"{server.url}/api/v1/incidents/{slug}/updates", token, {"body": f"Update {n}"})
    finally:
        server.kill()
    routes = routing(Settings.from_environ(server_env(database_url, tmp_path)))
    expected = len(routes.channels_for(EventType.INCIDENT_CREATED)) + 10 * len(
        routes.channels_for(EventType.VERSION_PUBLISHED)
    )
    assert open_deliveries(db) == expected, "1 incident + 10 versions, to every channel, all pending"

    restarted = ServerProcess(server_env(database_url, tmp_path), port=server.port).start()
    try:
        wait_all_delivered(db)
    finally:
        restarted.stop()
    record = json.loads((tmp_path / "archive" / "incidents" / f"{slug}.json").read_text())
    assert sorted(u["versions"][0]["body"] for u in record["updates"]) == sorted(
        f"Update {n}" for n in range(10)
    )


def test_kill_9_in_the_middle_of_a_stream_loses_nothing_acknowledged(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    token = make_token(db, "pio")
    server = ServerProcess(server_env(database_url, tmp_path)).start()
    slug = post(f"{server.url}/api/v1/incidents", token, {"title": "Wildfire"})["slug"]
    acknowledged: list[dict[str, Any]] = []

    def publish_stream() -> None:
        for n in range(200):
            try:
                acknowledged.append(
                    post(
                        f"{server.url}/api/v1/incidents/{slug}/updates",
                        token,
                        {"body": f"Evacuation zone {n}"},
                    )
                )
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return  # the server died under us

    publisher = threading.Thread(target=publish_stream)
    publisher.start()
    while len(acknowledged) < 25:
        time.sleep(0.005)
    server.kill()
    publisher.join(15)
    assert 25 <= len(acknowledged) < 200

    restarted = ServerProcess(server_env(database_url, tmp_path), port=server.port).start()
    try:
        wait_all_delivered(db)
    finally:
        restarted.stop()
    with db.read() as session:
        bodies = set(session.scalars(select(UpdateVersion.body)))
        report = verify(session)
    assert {a["body"] for a in acknowledged} <= bodies, "every acknowledged publish survived"
    assert report.ok, report.describe()
    seqs = sorted(
        u["seq"]
        for u in json.loads((tmp_path / "archive" / "incidents" / f"{slug}.json").read_text())["updates"]
    )
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == len(bodies)
