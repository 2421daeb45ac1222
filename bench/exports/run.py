"""Benchmark: requests per second for /archive.jsonl and /feeds/updates.atom (gzip), cached
as served vs an uncached reference measured in the same run, on the same database.

- /archive.jsonl cached: built once per change, then served as bytes (gzipped once);
  reference: the same app with the cache defeated, so every request builds the export
  (what every request cost before the cache).
- /feeds/updates.atom cached: the file's bytes and their gzip kept per file version;
  reference: the same app with its file cache defeated, so every request reads the file
  and compresses it again.

    .venv/bin/python bench/exports/run.py [--incidents 300] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from console.channels.registry import build_channels, routing  # noqa: E402
from console.db import Database  # noqa: E402
from console.dispatcher import Dispatcher  # noqa: E402
from console.domain.actors import Actor  # noqa: E402
from console.domain.incidents import IncidentDraft, create_incident  # noqa: E402
from console.domain.updates import Draft, correct_update, publish_update  # noqa: E402
from console.feeds.writer import FeedFiles  # noqa: E402
from console.keyset import KeyFile, create_key_file  # noqa: E402
from console.live.bus import LiveBus  # noqa: E402
from console.migrate import upgrade  # noqa: E402
from console.models import Role  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.web import exports as web_exports  # noqa: E402
from console.web import feeds as web_feeds  # noqa: E402
from console.web.app import create_app  # noqa: E402

GZIP = {"Accept-Encoding": "gzip"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def populate(settings: Settings, db: Database, incidents: int) -> None:
    actor = Actor(user_id=None, name="Bench PIO", role=Role.PIO, via="api")
    routes = routing(settings)
    moment = iter(T0 + timedelta(minutes=n) for n in range(incidents * 4))
    for number in range(incidents):
        with db.write() as session:
            incident, _ = create_incident(
                session,
                actor,
                IncidentDraft(title=f"Incident {number}", summary="Crews are on scene.", location="Elm St"),
                routing=routes,
                now=next(moment),
            )
            first = publish_update(
                session,
                actor,
                incident.slug,
                Draft(body=f"Avoid Elm St near {number}."),
                routing=routes,
                now=next(moment),
            )
            correct_update(
                session, actor, first.update.id, Draft(body=f"Avoid Oak St near {number}."),
                reason="Wrong street", corrects_version=1, routing=routes, now=next(moment),
            )  # fmt: skip
    # the archive's deliveries are made; the feeds are written once at the end (as
    # `console feeds rebuild` does) rather than after each of the events
    archive = {"archive": build_channels(settings, db, LiveBus.from_settings(settings))["archive"]}
    asyncio.run(Dispatcher.from_settings(settings, db, archive).drain(timeout=1800))
    FeedFiles(settings).rebuild(db)


def throughput(client: TestClient, path: str, requests: int) -> tuple[float, int]:
    """Requests per second, and the size of the body sent (gzipped)."""
    size = len(client.get(path, headers=GZIP).read())  # warm: build, read, compress once
    started = time.perf_counter()
    for _ in range(requests):
        response = client.get(path, headers=GZIP)
        assert response.status_code == 200, response.status_code
    return requests / (time.perf_counter() - started), size


@contextmanager
def patched(owner: Any, name: str, replacement: Callable[..., Any]) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


async def _always_build(self: web_exports.ExportCache, key: Any, build: Callable[..., Any]) -> Any:
    return await build()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        key_file = base / "signing-key.pem"
        create_key_file(key_file, now=T0)
        settings = Settings(
            database_url=f"sqlite:///{base / 'bench.db'}",
            signing_key_file=key_file,
            archive_dir=base / "archive",
            feeds_dir=base / "feeds",
            outbox_in_process=False,
            channels=("archive", "feeds"),  # no social accounts here
        )
        db = Database(settings.database_url, signer=KeyFile(key_file))
        upgrade(db)
        started = time.perf_counter()
        populate(settings, db, args.incidents)
        print(f"{args.incidents} incidents, 2 versions each, archived: {time.perf_counter() - started:.1f} s")
        rows = []
        with TestClient(create_app(settings)) as client:
            for path in ("/archive.jsonl", "/feeds/updates.atom"):
                cached, size = throughput(client, path, args.requests)
                if path == "/archive.jsonl":
                    defeat = patched(web_exports.ExportCache, "get", _always_build)
                else:
                    defeat = patched(web_feeds.FeedFileCache, "fresh", lambda self, path: None)
                with defeat:
                    uncached, _ = throughput(client, path, max(args.requests // 4, 5))
                rows.append((path, size, cached, uncached))
        db.dispose()
    print(f"{'path':<22} {'gzipped bytes':>14} {'cached req/s':>13} {'uncached req/s':>15} {'ratio':>8}")
    for path, size, cached, uncached in rows:
        print(f"{path:<22} {size:>14,} {cached:>13,.1f} {uncached:>15,.1f} {cached / uncached:>7.1f}x")


if __name__ == "__main__":
    main()
