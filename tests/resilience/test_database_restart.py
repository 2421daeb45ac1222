"""PostgreSQL restarted under a running console: while it is down every request gets a clear
503 (JSON with `unavailable` for the API, an HTML page for pages, both with Retry-After), and
once it is back the same console process serves and publishes again, its outbox included.

Runs on a private PostgreSQL cluster whatever the run's DATABASE_URL: never the shared one."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from console.db import Database
from console.models import Delivery, DeliveryState, UpdateVersion
from tests.live.support import PostgresServer
from tests.security.support import ApiClient
from tests.support.factories import make_token
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # restarts PostgreSQL under a server process


def request(
    url: str, token: str | None = None, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, method="GET" if body is None else "POST", headers=headers)
    try:
        with urllib.request.urlopen(call, timeout=15) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_requests_get_a_clear_503_while_postgresql_restarts_and_the_same_process_recovers(
    private_database: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    db = Database(private_database)
    token = make_token(db, "pio")
    env = {
        "DATABASE_URL": private_database,
        "CHANNELS": "live,archive,feeds",
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "FEEDS_DIR": str(tmp_path / "feeds"),
        "OUTBOX_POLL_SECONDS": "0.1",
        "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
        "OUTBOX_BACKOFF_MAX_SECONDS": "1",
    }
    server = ServerProcess(env).start()
    try:
        assert server.process is not None
        pid = server.process.pid
        client = ApiClient(server.url, token)
        slug = client.post("/incidents", {"title": "Water main break"})["slug"]
        client.post(f"/incidents/{slug}/updates", {"body": "Elm St is closed."})
        assert request(f"{server.url}/archive")[0] == 200

        postgres_server.stop()
        down_at = time.monotonic()
        try:
            # An API write: JSON, the code a client can act on, and when to try again.
            status, headers, body = request(
                f"{server.url}/api/v1/incidents/{slug}/updates", token, {"body": "Detour via 5th."}
            )
            assert status == 503 and headers["retry-after"] == "5"
            assert headers["content-type"].startswith("application/json")
            assert json.loads(body)["error"]["code"] == "unavailable"
            # An API read, the same.
            status, headers, body = request(f"{server.url}/api/v1/incidents")
            assert status == 503 and json.loads(body)["error"]["code"] == "unavailable"
            # Pages: an HTML page saying what happened, never cached by a CDN.
            for path in ("/archive", f"/incidents/{slug}/history", "/corrections"):
                status, headers, body = request(f"{server.url}{path}")
                assert status == 503, path
                assert headers["content-type"].startswith("text/html") and "retry-after" in headers
                assert headers["cache-control"] == "no-store"
                assert b"<h1>Temporarily unavailable</h1>" in body
            assert request(f"{server.url}/healthz")[0] == 503
            answered_in = time.monotonic() - down_at
            # A PIO's client keeps sending its update (same Idempotency-Key) through the outage.
            published: list[dict[str, Any]] = []
            during = threading.Thread(
                target=lambda: published.append(
                    client.post(f"/incidents/{slug}/updates", {"body": "Crews expect repairs by 6 pm."})
                )
            )
            during.start()
            time.sleep(2)
        finally:
            postgres_server.start()
        up_at = time.monotonic()
        while request(f"{server.url}/healthz")[0] != 200:
            assert time.monotonic() - up_at < 30, server.output[-2000:]
            time.sleep(0.1)
        recovered_in = time.monotonic() - up_at
        during.join(30)
        assert published, "the update sent during the outage was published once the database returned"
        after = client.post(f"/incidents/{slug}/updates", {"body": "Elm St reopens tomorrow."})
        assert request(f"{server.url}/archive")[0] == 200
        assert server.process.poll() is None and server.process.pid == pid, (
            "the same process, never restarted"
        )

        deadline = time.monotonic() + 20
        while True:
            with db.read() as session:
                states = list(session.scalars(select(Delivery.state)))
            if set(states) == {DeliveryState.SENT}:
                break
            assert time.monotonic() < deadline, f"the outbox did not recover: {states}"
            time.sleep(0.1)
        with db.read() as session:
            bodies = list(session.scalars(select(UpdateVersion.body).order_by(UpdateVersion.id)))
        assert bodies == ["Elm St is closed.", "Crews expect repairs by 6 pm.", "Elm St reopens tomorrow."]
        assert after["seq"] == 3
    finally:
        server.stop()
        db.dispose()
    print(
        f"\nPostgreSQL restart: 503s answered within {answered_in:.2f} s of the stop; "
        f"the same console process healthy {recovered_in:.1f} s after PostgreSQL started"
    )
