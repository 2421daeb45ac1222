"""Helpers for the live page tests: publishing through the API, reading pushed frames, and
private Redis / PostgreSQL servers that a test may stop and restart."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.support.server import free_port

# Sent between frames every LIVE_PING_SECONDS (README, "Live page for residents"): a client
# takes it as a sign of life, not as an event.
KEEPALIVE = "<!-- keepalive -->"
CURSOR = re.compile(r'^\s*<span id="live-cursor" data-event-id="(\d+)"( data-reset)?')
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# The Redis that CI runs; each test uses a channel of its own on it.
SHARED_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


def api(base: str, token: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        answer: dict[str, Any] = json.load(response)
        return answer


def new_incident(base: str, token: str, title: str = "Water main break") -> str:
    slug: str = api(base, token, "/incidents", {"title": title, "location": "Elm St"})["slug"]
    return slug


def publish(base: str, token: str, slug: str, body: str, **fields: Any) -> dict[str, Any]:
    return api(base, token, f"/incidents/{slug}/updates", {"body": body, **fields})


def correct(base: str, token: str, update_id: int, body: str, reason: str, version: int) -> dict[str, Any]:
    return api(
        base,
        token,
        f"/updates/{update_id}/corrections",
        {"body": body, "reason": reason, "corrects_version": version},
    )


def retract(base: str, token: str, update_id: int, reason: str, version: int) -> dict[str, Any]:
    return api(
        base, token, f"/updates/{update_id}/retraction", {"reason": reason, "corrects_version": version}
    )


def live_status(base: str, token: str) -> dict[str, Any]:
    return api(base, token, "/live")


@dataclass(frozen=True)
class Frame:
    event_id: int
    reset: bool
    html: str


def parse(text: str | bytes) -> Frame:
    assert isinstance(text, str), "frames are text"
    match = CURSOR.match(text)
    assert match, f"a frame starts with the cursor: {text[:200]!r}"
    return Frame(int(match.group(1)), bool(match.group(2)), text)


@contextmanager
def subscribe(ws_url: str, last_event_id: int, incident: str | None = None) -> Iterator[ClientConnection]:
    """A websocket client of `/live` (or one incident's) that has sent its last event id."""
    path = "/live" if incident is None else f"/live?incident={incident}"
    with connect(ws_url + path, compression=None, open_timeout=10) as connection:
        connection.send(json.dumps({"last_event_id": last_event_id}))
        yield connection


def receive(connection: ClientConnection, count: int, timeout: float = 10) -> list[Frame]:
    """The next `count` frames, keepalives left out (as live.js leaves them out)."""
    deadline = time.monotonic() + timeout
    frames: list[Frame] = []
    while len(frames) < count:
        text = connection.recv(timeout=max(0.01, deadline - time.monotonic()))
        if text != KEEPALIVE:
            frames.append(parse(text))
    return frames


def nothing_more(connection: ClientConnection, wait: float = 0.5) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            extra = connection.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return True
        if extra != KEEPALIVE:
            raise AssertionError(f"unexpected frame: {str(extra)[:200]}")


class RedisServer:
    """A private redis-server on a free port: tests may kill and restart it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


class PostgresServer:
    """A private PostgreSQL cluster in a temporary directory (initdb + pg_ctl)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="live-pg-", dir="/tmp"))
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        # PostgreSQL refuses to run as root; the tests here may. No pipes: the server would
        # inherit them and keep them open.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60
        )

    def initialise(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        return self.start()

    def start(self) -> PostgresServer:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "server.log")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)
