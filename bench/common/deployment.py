"""The console deployed as the Procfile deploys it, for the benchmarks that measure it from
outside: a scratch PostgreSQL database migrated by the `release:` line, the `web:` line
(uvicorn on the app factory) with `--workers N`, the `worker:` line delivering the outbox,
all sharing one BROADCAST_URL; and a PIO publishing updates through the JSON API."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from bench.common.harness import free_port, post, wait_for_http
from console.db import Database
from console.domain import accounts, stream
from console.domain.actors import OPERATOR
from console.keyset import create_key_file

ROOT = Path(__file__).resolve().parents[2]
# The marker `fanout-<i>-end` is what the subscriber swarm counts receipts by.
BODY = (
    "Elm St is closed between 3rd and 5th Ave while crews repair a water main. "
    "Expect delays on Route 9; use Main St instead. Marker fanout-{i}-end. "
    "Residents on the 400 block may see low water pressure until the evening."
)


@dataclass
class Publications:
    """When each publication's API call began and was answered (monotonic seconds)."""

    started: dict[int, float] = field(default_factory=dict)
    answered: dict[int, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def latencies_ms(self) -> list[float]:
        return [(self.answered[i] - self.started[i]) * 1000 for i in self.answered]

    def push_latencies_ms(self, receipts: dict[int, list[float]]) -> list[float]:
        """From each publication's answer to its frame at each subscriber."""
        return [
            (moment - self.answered[index]) * 1000
            for index, moments in receipts.items()
            if index in self.answered
            for moment in moments
        ]


@dataclass
class Console:
    pid: int  # uvicorn's
    worker_pid: int | None  # `console worker`'s, when the outbox runs there
    base: str
    slug: str
    token: str
    hello_id: int
    paths: list[list[str]]  # the pages and feeds a crowd fetches, by kind
    database_url: str

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    @property
    def live_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/live?incident={self.slug}"

    def head(self) -> int:
        """The last public event's id: the hello of a subscriber that has seen everything."""
        db = Database(self.database_url)
        try:
            with db.read() as session:
                return stream.head(session)
        finally:
            db.dispose()

    def publish(self, index: int, record: Publications) -> None:
        record.started[index] = time.monotonic()
        try:
            post(
                f"{self.base}/api/v1/incidents/{self.slug}/updates",
                self.token,
                {"body": BODY.format(i=index)},
            )
        except (OSError, urllib.error.HTTPError) as exc:
            record.failed.append(f"publication {index}: {exc}")
            return
        record.answered[index] = time.monotonic()


def publish_every(
    publish: Callable[[int, Publications], None],
    interval: float,
    record: Publications,
    first: int,
    count: int,
) -> None:
    """Publications `first` to `first + count - 1`, one every `interval` seconds."""
    for index in range(first, first + count):
        started = time.monotonic()
        publish(index, record)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def web_command(port: int, workers: int) -> list[str]:
    """The Procfile's `web:` line, on this port and loopback, with --workers."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            words = shlex.split(line.removeprefix("web:").replace("${PORT:-8000}", str(port)))
            break
    else:
        raise RuntimeError("the Procfile has no web: line")
    assert words[0] == "uvicorn", words
    words = [sys.executable, "-m", "uvicorn", *words[1:]]
    words[words.index("--host") + 1] = "127.0.0.1"
    return [*words, "--workers", str(workers)]


@contextmanager
def scratch_database(url: str | None, prefix: str) -> Iterator[str]:
    """The given database, or a fresh one on the local PostgreSQL, dropped afterwards."""
    if url:
        yield url
        return
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_arguments(parser: argparse.ArgumentParser, broadcast_option: str, broadcast_help: str) -> None:
    """The options naming the database and the Redis the deployment uses."""
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to use (default: a scratch one on the local server)"
    )
    parser.add_argument(
        broadcast_option,
        default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help=f"{broadcast_help} (default: $TEST_REDIS_URL or redis://127.0.0.1:6379/0)",
    )


@contextmanager
def procfile_console(
    workdir: Path,
    database_url: str,
    *,
    broadcast_url: str,
    workers: int,
    outbox_in_worker: bool = True,
    outbox_poll: float = 1.0,
) -> Iterator[Console]:
    """The console on `database_url` (migrated here) with one incident, one update published
    and its feeds written. `outbox_in_worker`: the `worker:` line delivers the outbox and the
    web workers leave it to it (OUTBOX_IN_PROCESS=false), as the Procfile deploys it."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BROADCAST_URL": broadcast_url,
        "BROADCAST_TOPIC": f"bench_{uuid.uuid4().hex[:12]}",
        "ARCHIVE_DIR": str(workdir / "archive"),
        "FEEDS_DIR": str(workdir / "feeds"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SECRET_KEY": uuid.uuid4().hex,
        "OUTBOX_IN_PROCESS": "false" if outbox_in_worker else "true",
        "OUTBOX_POLL_SECONDS": str(outbox_poll),
        "SIGNING_KEY_FILE": str(workdir / "signing-key.pem"),
    }
    create_key_file(workdir / "signing-key.pem")
    subprocess.run([sys.executable, "-m", "console", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    db = Database(database_url)
    with db.write() as session:
        accounts.create_user(
            session, OPERATOR, email="pio@bench", display_name="Bench PIO", role="pio", password="x" * 16
        )
    with db.write() as session:
        token = accounts.create_token(session, OPERATOR, email="pio@bench").secret
    db.dispose()
    with (workdir / "console.log").open("a") as log:
        server = subprocess.Popen(
            web_command(port, workers), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        worker = (
            subprocess.Popen(
                [sys.executable, "-m", "console", "worker"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            if outbox_in_worker
            else None
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/healthz")
            incident = post(
                f"{base}/api/v1/incidents",
                token,
                {"title": "Water main break", "category": "Infra", "summary": "Elm St is closed."},
            )
            slug = str(incident["slug"])
            console = Console(
                server.pid, worker.pid if worker else None, base, slug, token, 0, [], database_url
            )
            post(f"{base}/api/v1/incidents/{slug}/updates", token, {"body": BODY.format(i="warmup")})
            console.paths = [
                ["page", f"/incidents/{slug}"],
                ["feed", "/feeds/updates.atom"],
                ["page", "/"],
                ["feed", f"/incidents/{slug}/feed.atom"],
                ["page", f"/incidents/{slug}"],
                ["feed", "/feeds/updates.rss"],
            ]
            for _, path in console.paths:
                wait_for_http(base + path)  # the feeds channel writes the feeds through the outbox
            console.hello_id = console.head()
            yield console
        finally:
            for process in (server, worker):
                if process is not None:
                    process.terminate()
                    process.wait(60)
