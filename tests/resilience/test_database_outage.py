"""While the database restarts, residents keep reading the pages they had, and their live
connections come back and resume once it answers again."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from console.db import Database
from console.settings import Settings
from tests.live.support import PostgresServer, new_incident, publish, receive, subscribe
from tests.support.factories import make_token
from tests.support.live_server import LiveServer, serve

pytestmark = pytest.mark.slow  # restarts the database under live clients


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            code: int = response.status
            return code
    except urllib.error.HTTPError as error:
        return error.code


def test_pages_stay_up_and_live_clients_resume_after_a_database_restart(
    live_settings: Settings, private_database: str, postgres_server: PostgresServer
) -> None:
    db = Database(private_database)
    token = make_token(db, "pio")
    db.dispose()
    settings = replace(live_settings, database_url=private_database)
    with serve(settings) as server:
        slug = new_incident(server.url, token, "Power outage")
        first = publish(server.url, token, slug, "Crews are on site.")
        with urllib.request.urlopen(f"{server.url}/incidents/{slug}", timeout=10) as response:
            assert "Crews are on site." in response.read().decode()

        postgres_server.stop()
        try:
            # The page residents already loaded is served from memory...
            with urllib.request.urlopen(f"{server.url}/incidents/{slug}", timeout=10) as response:
                assert "Crews are on site." in response.read().decode()
            # ...a page never rendered says when to try again...
            assert status(f"{server.url}/incidents/not-rendered-yet") == 503
            # ...and a live client that cannot be resumed now is told to come back.
            assert_told_to_come_back(server, slug, first["event_id"])
        finally:
            postgres_server.start()

        second = publish(server.url, token, slug, "Power restored on Elm St.")
        with subscribe(server.ws_url, first["event_id"], incident=slug) as ws:
            [frame] = receive(ws, 1, timeout=20)
            assert frame.event_id == second["event_id"] and "Power restored" in frame.html


def assert_told_to_come_back(server: LiveServer, slug: str, last_event_id: int) -> None:
    with connect(f"{server.ws_url}/live?incident={slug}", compression=None) as ws:
        ws.send(json.dumps({"last_event_id": last_event_id - 1}))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013  # the ws extension reconnects after this one
