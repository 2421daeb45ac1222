"""kill -9 between publishing and writing the feed files: the outbox repairs them on restart."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import feedparser
import pytest

from console.db import Database
from tests.resilience.test_crash import post, server_env, wait_all_delivered
from tests.support.factories import make_token
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # kill -9 of a server process


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}


def test_feed_files_are_complete_after_a_kill_9_mid_stream(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    token = make_token(db, "pio")
    env = server_env(database_url, tmp_path, FEEDS_MAX_ENTRIES="500")
    server = ServerProcess(env).start()
    slug = post(f"{server.url}/api/v1/incidents", token, {"title": "Train derailment"})["slug"]
    acknowledged: list[dict[str, Any]] = []

    def publish_stream() -> None:
        for n in range(200):
            try:
                body = {"body": f"Derailment report {n}"}
                acknowledged.append(post(f"{server.url}/api/v1/incidents/{slug}/updates", token, body))
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return  # the server died under us

    publisher = threading.Thread(target=publish_stream)
    publisher.start()
    while len(acknowledged) < 20:
        time.sleep(0.005)
    server.kill()
    publisher.join(15)
    assert 20 <= len(acknowledged) < 200

    restarted = ServerProcess(env, port=server.port).start()
    try:
        wait_all_delivered(db)
        status, content, headers = get(f"{restarted.url}/incidents/{slug}/feed.atom")
        assert status == 200
        titles = {entry.title for entry in feedparser.parse(content).entries}
        assert {f"PRELIMINARY: Derailment report {n}" for n in range(len(acknowledged))} <= titles
        for update in acknowledged:
            cap_status, cap, _ = get(f"{restarted.url}/incidents/{slug}/cap/{update['seq']}-1.xml")
            assert cap_status == 200 and b"<msgType>Alert</msgType>" in cap
        assert (
            get(f"{restarted.url}/incidents/{slug}/feed.atom", {"If-None-Match": headers["etag"]})[0] == 304
        )
    finally:
        restarted.stop()
    on_disk = (tmp_path / "feeds" / "incidents" / slug / "feed.atom").read_bytes()
    assert on_disk == content, "the app served the file the channel wrote"
