"""Benchmark for the feeds (issue 5).

Run: `.venv/bin/python bench/feeds/bench_feeds.py [requests] [regeneration] [languages] [--quick]`

1. Requests per second for /feeds/updates.atom (100 entries), without and with a matching
   If-None-Match, against a bare Starlette `Response` of the same bytes, measured in the same
   run through the same app and middleware. Target: ratio >= 0.8.
   a. in process: ASGI calls straight into the app (the app's own cost, per CPU second);
   b. over HTTP: uvicorn in a subprocess, keep-alive clients in threads (end to end).
2. Feed regeneration after one publication, with 1,000 and with 10,000 archived updates.
   Target: flat (the feeds hold the newest 100 entries).
3. The same with LANGUAGES=en,es,vi (every update translated into Spanish when published;
   the corrected ones then stale): a publication rewrites every language's feeds, a
   translation only its own language's and its CAP message.

Uses throwaway SQLite databases in a temporary directory.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.channels.registry import routing as routing_for  # noqa: E402
from console.db import Database  # noqa: E402
from console.domain.actors import Actor  # noqa: E402
from console.domain.events import ChannelEvent, VersionPublished  # noqa: E402
from console.domain.incidents import IncidentDraft, create_incident  # noqa: E402
from console.domain.translation_drafts import TranslationDraft  # noqa: E402
from console.domain.translations import add_translation  # noqa: E402
from console.domain.updates import (  # noqa: E402
    NO_TRANSLATIONS,
    Draft,
    Translations,
    correct_update,
    publish_update,
)
from console.feeds.paths import UPDATES_ATOM  # noqa: E402
from console.feeds.writer import FeedFiles  # noqa: E402
from console.keyset import KeySet  # noqa: E402
from console.languages import Languages  # noqa: E402
from console.migrate import upgrade  # noqa: E402
from console.models import Role  # noqa: E402
from console.settings import Settings  # noqa: E402

Samples = dict[str, list[float]]
PIO = Actor(user_id=None, name="Bench PIO", role=Role.PIO, via="cli")
START = datetime(2026, 1, 1, tzinfo=UTC)
UPDATES_PER_INCIDENT = 100
BODY = (
    "Officers are responding to a report near 5th Ave and Elm St. Avoid the area; "
    "expect road closures between Main St and Pine St while crews work. "
)


# --- databases ----------------------------------------------------------------------------


def fresh_database(scratch: Path, name: str) -> str:
    url = f"sqlite:///{scratch / name}.db"
    db = Database(url)
    upgrade(db)
    db.dispose()
    return url


def populate(settings: Settings, db: Database, updates: int) -> tuple[str, int]:
    """`updates` updates over incidents of 100 each; one in ten corrected. With more than one
    of LANGUAGES, each is published with its translation into the second one. Returns the
    newest incident's slug and the next free minute."""
    routing = routing_for(settings)
    languages = Languages(settings.languages)
    translations = (
        Translations([TranslationDraft(lang=languages.translated[0], body=f"{BODY} (traducción)")], languages)
        if languages.translated
        else NO_TRANSLATIONS
    )
    minute = 0
    slug = ""
    with db.write() as session:
        for first in range(0, updates, UPDATES_PER_INCIDENT):
            incident, _ = create_incident(
                session,
                PIO,
                IncidentDraft(title=f"Incident {first // UPDATES_PER_INCIDENT}", location="Riverside"),
                routing=routing,
                now=START + timedelta(minutes=minute),
            )
            slug = incident.slug
            for n in range(first, min(first + UPDATES_PER_INCIDENT, updates)):
                minute += 1
                published = publish_update(
                    session,
                    PIO,
                    slug,
                    Draft(body=f"{BODY} (report {n})"),
                    routing=routing,
                    now=START + timedelta(minutes=minute),
                    translations=translations,
                )
                if n % 10 == 0:
                    minute += 1
                    correct_update(
                        session,
                        PIO,
                        published.update.id,
                        Draft(body=f"{BODY} (report {n}, corrected)"),
                        reason="Wrong cross street",
                        corrects_version=1,
                        routing=routing,
                        now=START + timedelta(minutes=minute),
                    )
        # The outbox rows are not what is measured here; mark them done so nothing delivers them.
        session.execute(text("UPDATE deliveries SET state = 'sent'"))
    return slug, minute + 1


# --- 1. requests per second ---------------------------------------------------------------


def bench_settings(
    database_url: str,
    feeds_dir: Path,
    public_url: str = "http://127.0.0.1:8000",
    languages: tuple[str, ...] = ("en",),
) -> Settings:
    return Settings(
        database_url=database_url,
        feeds_dir=feeds_dir,
        archive_dir=feeds_dir.parent / "archive",
        public_url=public_url,
        outbox_in_process=False,
        languages=languages,
    )


def add_bare_route(app: Any, body: bytes) -> None:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from console.web.access import Access, access

    @access(Access.PUBLIC)
    async def bare(request: Request) -> Response:
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    # Right before the feed's own route, so both pay the same routing.
    routes = app.router.routes
    position = next(
        i for i, route in enumerate(routes) if getattr(route, "path", "") == "/feeds/updates.atom"
    )
    routes.insert(position, Route("/bench/bare", bare, methods=["GET"]))


class InProcess:
    """Drives the ASGI app directly: lifespan once, then as many requests as asked."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}

    async def start(self) -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started = asyncio.Event()
        await inbox.put({"type": "lifespan.startup"})

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()
            elif message["type"] == "lifespan.startup.failed":
                raise RuntimeError(message.get("message"))

        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._inbox = inbox
        self._lifespan = asyncio.create_task(self.app(scope, inbox.get, send))
        await started.wait()

    async def stop(self) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._lifespan

    async def request(self, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": dict(self.state),
        }
        status = 0
        size = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, size


async def rate(call: Callable[[], Any], seconds: float) -> float:
    """Requests per second of this process's CPU time: other work on the machine (this is
    single-threaded and never waits) does not count against either side."""
    done = 0
    began = time.process_time()
    while time.process_time() - began < seconds:
        for _ in range(200):
            await call()
        done += 200
    return done / (time.process_time() - began)


def in_process_rates(
    settings: Settings, body: bytes, etag: str, rounds: int, seconds: float
) -> dict[str, float]:
    from console.web.app import create_app

    app = create_app(settings)
    add_bare_route(app, body)
    driver = InProcess(app)
    variants: dict[str, tuple[str, list[tuple[bytes, bytes]], int]] = {
        "feed 200": ("/feeds/updates.atom", [], 200),
        "bare 200": ("/bench/bare", [], 200),
        "feed 304": ("/feeds/updates.atom", [(b"if-none-match", etag.encode())], 304),
    }

    async def run() -> Samples:
        await driver.start()
        try:
            for path, headers, expected in variants.values():
                status, size = await driver.request(path, headers)
                assert status == expected, (path, status)
                assert expected == 304 or size == len(body), (path, size)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(rounds):  # interleaved, so drift in the machine hits every variant alike
                for name, (path, headers, _) in variants.items():
                    samples[name].append(await rate(lambda p=path, h=headers: driver.request(p, h), seconds))
            return samples
        finally:
            await driver.stop()

    return asyncio.run(run())


SERVER = """
import sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import uvicorn
from bench_feeds import add_bare_route, bench_settings
from console.web.app import create_app
from pathlib import Path
app = create_app(bench_settings({url!r}, Path({feeds!r}), {public!r}))
add_bare_route(app, Path({feeds!r}, "feeds", "updates.atom").read_bytes())
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def http_rates(
    database_url: str, feeds_dir: Path, etag: str, rounds: int, seconds: float, clients: int
) -> Samples:
    from tests.support.server import free_port

    port = free_port()
    script = SERVER.format(
        root=str(ROOT),
        bench=str(Path(__file__).parent),
        url=database_url,
        feeds=str(feeds_dir),
        public=f"http://127.0.0.1:{port}",
        port=port,
    )
    server = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        variants = {
            "feed 200": ("/feeds/updates.atom", {}, 200),
            "bare 200": ("/bench/bare", {}, 200),
            "feed 304": ("/feeds/updates.atom", {"If-None-Match": etag}, 304),
        }

        def measure(path: str, headers: dict[str, str], expected: int) -> float:
            counts = [0] * clients
            stop = time.perf_counter() + seconds

            def client(index: int) -> None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                while time.perf_counter() < stop:
                    connection.request("GET", path, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    assert response.status == expected, (path, response.status)
                    counts[index] += 1
                connection.close()

            threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return sum(counts) / (time.perf_counter() - began)

        samples: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, (path, headers, expected) in variants.items():
                samples[name].append(measure(path, headers, expected))
        return samples
    finally:
        server.terminate()
        server.wait(10)


# --- 2. regeneration ----------------------------------------------------------------------


class Archive:
    """A database holding `updates` archived updates, its feed files written."""

    def __init__(self, scratch: Path, updates: int, languages: tuple[str, ...] = ("en",)) -> None:
        self.updates = updates
        name = f"{updates}-{'-'.join(languages)}"
        url = fresh_database(scratch, f"regen-{name}")
        self.settings = bench_settings(url, scratch / f"feeds-{name}", languages=languages)
        self.db = Database(url, signer=KeySet.generate())
        self.slug, self.minute = populate(self.settings, self.db, updates)
        self.files = FeedFiles(self.settings)
        began = time.perf_counter()
        self.files.rebuild(self.db)
        self.rebuild_seconds = time.perf_counter() - began
        self.routing = routing_for(self.settings)

    def publish_and_regenerate(self) -> tuple[float, float]:
        """One more publication on the newest incident, then its feed files: (wall s, CPU s)."""
        self.minute += 1
        with self.db.write() as session:
            event = publish_update(
                session,
                PIO,
                self.slug,
                Draft(body=f"{BODY} (new report {self.minute})"),
                routing=self.routing,
                now=START + timedelta(minutes=self.minute),
            ).event
        assert isinstance(event, VersionPublished)
        self.last_update_id = event.update_id
        # CAP message, incident x2, CAP index, updates x2; then incident x2 and updates x2 per language
        languages = self.files.languages
        return self._regenerate(event, 6 + 4 * len(languages))

    def translate_and_regenerate(self) -> tuple[float, float]:
        """A translation of the newest update, then its feed files: (wall s, CPU s)."""
        self.minute += 1
        languages = Languages(self.settings.languages)
        with self.db.write() as session:
            event = add_translation(
                session,
                PIO,
                self.last_update_id,
                TranslationDraft(lang=languages.translated[-1], body=f"{BODY} (bản dịch {self.minute})"),
                version=1,
                languages=languages,
                routing=self.routing,
                now=START + timedelta(minutes=self.minute),
            ).event
        return self._regenerate(event, 5)  # CAP message; incident x2 and updates x2 in its language

    def _regenerate(self, event: ChannelEvent, files: int) -> tuple[float, float]:
        with self.db.read() as session:
            wall, cpu = time.perf_counter(), time.process_time()
            report = self.files.write_for_event(session, event)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert len(report.written) == files, report.describe()
        return wall, cpu


def report(label: str, samples: Samples) -> None:
    """Medians, and the ratio as the median of each round's ratio (rounds are interleaved, so
    a busy moment on the machine slows both sides of a pair alike)."""
    bare = samples["bare 200"]
    print(f"   {label}")
    print(f"      bare Response, same bytes     {statistics.median(bare):>9,.0f} req/s")
    for name, caption in (("feed 200", "no If-None-Match (200)"), ("feed 304", "If-None-Match (304)   ")):
        ratios = [ours / reference for ours, reference in zip(samples[name], bare, strict=True)]
        low, _, high = statistics.quantiles(ratios, n=4)
        print(
            f"      feed, {caption}  {statistics.median(samples[name]):>9,.0f} req/s   "
            f"ratio {statistics.median(ratios):.2f} (middle half of rounds {low:.2f}-{high:.2f})"
        )


def requests_part(scratch: Path, rounds: int, seconds: float) -> None:
    from console.web.feeds import read_feed_file

    url = fresh_database(scratch, "requests")
    feeds_dir = scratch / "feeds"
    settings = bench_settings(url, feeds_dir)
    db = Database(url, signer=KeySet.generate())
    populate(settings, db, 150)
    FeedFiles(settings).rebuild(db)
    db.dispose()
    body = UPDATES_ATOM.file_in(feeds_dir).read_bytes()
    feed = read_feed_file(UPDATES_ATOM.file_in(feeds_dir), UPDATES_ATOM.media_type)
    assert feed is not None
    print(
        f"1. GET /feeds/updates.atom: {body.count(b'<entry>')} entries, {len(body):,} bytes; {rounds} rounds"
    )
    report("a. in process (ASGI)", in_process_rates(settings, body, feed.etag, rounds, seconds))
    report(
        "b. over HTTP (uvicorn, 4 keep-alive clients)",
        http_rates(url, feeds_dir, feed.etag, rounds, seconds, 4),
    )


def regeneration_part(scratch: Path, publications: int) -> None:
    print(
        f"2. regeneration after one publication: the 6 files it changes, rendered, written ({publications}x)"
    )
    archives = [Archive(scratch, 1_000), Archive(scratch, 10_000)]
    walls: dict[int, list[float]] = {a.updates: [] for a in archives}
    cpus: dict[int, list[float]] = {a.updates: [] for a in archives}
    for _ in range(publications):  # interleaved, so the machine's load hits both alike
        for archive in archives:
            wall, cpu = archive.publish_and_regenerate()
            walls[archive.updates].append(wall * 1000)
            cpus[archive.updates].append(cpu * 1000)
    for archive in archives:
        n = archive.updates
        print(
            f"   {n:>6,} archived updates: {statistics.median(walls[n]):6.1f} ms wall, "
            f"{statistics.median(cpus[n]):6.1f} ms CPU per publication; "
            f"full rebuild {archive.rebuild_seconds:5.1f} s"
        )
        archive.db.dispose()
    wall_ratio = statistics.median(walls[10_000]) / statistics.median(walls[1_000])
    cpu_ratio = statistics.median(cpus[10_000]) / statistics.median(cpus[1_000])
    print(f"   10,000 / 1,000: {wall_ratio:.2f} wall, {cpu_ratio:.2f} CPU (flat is 1.0)")


def languages_part(scratch: Path, publications: int) -> None:
    print(f"3. the same with LANGUAGES=en,es,vi, 1,000 archived updates ({publications}x)")
    archive = Archive(scratch, 1_000, ("en", "es", "vi"))
    published: list[float] = []
    translated: list[float] = []
    for _ in range(publications):
        published.append(archive.publish_and_regenerate()[1] * 1000)
        translated.append(archive.translate_and_regenerate()[1] * 1000)
    print(
        f"   publication (18 files): {statistics.median(published):6.1f} ms CPU; "
        f"translation (5 files): {statistics.median(translated):6.1f} ms CPU; "
        f"full rebuild {archive.rebuild_seconds:5.1f} s"
    )
    archive.db.dispose()


def main() -> None:
    quick = "--quick" in sys.argv
    parts = [arg for arg in sys.argv[1:] if arg in ("requests", "regeneration", "languages")] or [
        "requests",
        "regeneration",
        "languages",
    ]
    print(f"feeds benchmark (SQLite, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)\n")
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        if "requests" in parts:
            requests_part(scratch, *((3, 0.3) if quick else (15, 0.5)))
        if "regeneration" in parts:
            print()
            regeneration_part(scratch, 10 if quick else 30)
        if "languages" in parts:
            print()
            languages_part(scratch, 10 if quick else 30)


if __name__ == "__main__":
    main()
