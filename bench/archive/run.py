"""Benchmark: server time per /archive page at 10,000 incidents x 20 updates on SQLite.

Builds a database through the real migrations (so the full-text index is filled by its
triggers, as in production), then times /archive pages inside the app: from the moment the
ASGI app is called to its last byte, with no HTTP client in the measurement. In the same run
it measures two references on the same database and machine:

- floor: GET /healthz through the same stack (what any request costs here);
- naive search: the same search done without the index, as a LIKE scan over every version's
  text (what the archive would cost without FTS).

    .venv/bin/python bench/archive/run.py [--incidents 10000] [--updates 20] [--repeat 25]

Target: every archive page under 100 ms (p95) on SQLite.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from starlette.types import Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.db import Database  # noqa: E402
from console.domain.incidents import CATEGORIES  # noqa: E402
from console.domain.updates import content_hash  # noqa: E402
from console.migrate import upgrade  # noqa: E402
from console.models import Incident, Update, UpdateVersion, VersionKind  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.web.app import create_app  # noqa: E402

TARGET_MS = 100.0
YEAR_2024 = "from=2024-01-01&to=2024-12-31"
STREET_NAMES = (
    "Elm Oak Pine Maple Cedar Birch Walnut Spruce Willow Aspen Main Market Church Mill Park Lake River "
    "Hill Forest Spring Union Center Bridge Station Harbor Ridge Valley Meadow Orchard Chestnut"
)
STREETS = [f"{name} {kind}" for name in STREET_NAMES.split() for kind in ("St", "Ave", "Rd", "Blvd")]
WHAT_TEXT = (
    "water main break|house fire|gas leak|traffic collision|police activity|power outage|flooding|"
    "missing person|chemical spill|road closure|storm damage|brush fire|bridge inspection|boil water notice"
)
WHAT = WHAT_TEXT.split("|")
SENTENCES = [
    "Crews are on scene at {street}.",
    "Avoid {street} between {street2} and {street3}.",
    "Residents near {street} should shelter in place until further notice.",
    "The evacuation order for {street} is lifted.",
    "{street} is closed in both directions; use {street2} as a detour.",
    "Officers are responding to reports near {street}.",
    "Power has been restored to homes along {street}.",
    "A shelter is open at the {street2} community center.",
    "There is no known ongoing threat to the public.",
    "Expect delays on {street} during the morning commute.",
]


def sentence(rng: random.Random) -> str:
    a, b, c = rng.sample(STREETS, 3)
    return " ".join(
        rng.choice(SENTENCES).format(street=a, street2=b, street3=c) for _ in range(rng.randint(2, 4))
    )


def build(url: str, incidents: int, updates: int, seed: int = 7) -> int:
    """Fill the database; returns the number of versions written."""
    rng = random.Random(seed)
    db = Database(url)
    upgrade(db)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    versions = 0
    with db.write() as session:
        for first in range(0, incidents, 500):
            incident_rows, update_rows, version_rows = [], [], []
            for n in range(first, min(first + 500, incidents)):
                opened = start + timedelta(minutes=n * 150 + rng.randint(0, 100))
                slug = f"incident-{n + 1}"
                incident_rows.append(
                    {
                        "id": n + 1,
                        "slug": slug,
                        "title": f"{rng.choice(WHAT).capitalize()} on {rng.choice(STREETS)}",
                        "summary": sentence(rng),
                        "location": rng.choice(STREETS),
                        "category": rng.choice(CATEGORIES),
                        "status": "resolved" if n < incidents - 20 else "active",
                        "alert_status": "actual",
                        "created_at": opened,
                        "updated_at": opened,
                        "resolved_at": opened + timedelta(hours=30) if n < incidents - 20 else None,
                    }
                )
                for seq in range(1, updates + 1):
                    update_id = n * updates + seq
                    at = opened + timedelta(minutes=seq * 60)
                    update_rows.append({"id": update_id, "incident_id": n + 1, "seq": seq, "created_at": at})
                    body, preliminary = sentence(rng), True
                    chain = [(VersionKind.ORIGINAL, body, True, None)]
                    roll = rng.random()
                    if roll < 0.25:
                        chain.append((VersionKind.CORRECTION, sentence(rng), True, "Details corrected"))
                    if roll < 0.65:
                        chain.append((VersionKind.CONFIRMATION, chain[-1][1], False, "Information confirmed"))
                    if roll > 0.95:
                        chain.append((VersionKind.RETRACTION, chain[-1][1], chain[-1][2], "Issued in error"))
                    for number, (kind, words, preliminary, reason) in enumerate(chain, 1):
                        row = UpdateVersion(
                            version=number,
                            kind=kind,
                            headline=None,
                            body=words,
                            preliminary=preliminary,
                            reason=reason,
                            author_name="Bench PIO",
                            published_at=at + timedelta(minutes=number),
                        )
                        version_rows.append(
                            {
                                "update_id": update_id,
                                "version": number,
                                "kind": kind,
                                "headline": None,
                                "body": words,
                                "preliminary": preliminary,
                                "reason": reason,
                                "author_id": None,
                                "author_name": "Bench PIO",
                                "published_at": row.published_at,
                                "content_hash": content_hash(slug, seq, row),
                            }
                        )
            session.execute(insert(Incident), incident_rows)
            session.execute(insert(Update), update_rows)
            session.execute(insert(UpdateVersion), version_rows)
            versions += len(version_rows)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    db.dispose()
    return versions


class Timed:
    """Pure ASGI wrapper recording server time: from the call to the last body byte sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0
        self.last_status = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.last_status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (time.perf_counter() - started) * 1000

        await self.app(scope, receive, timed_send)


def summary(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)], ordered[-1]


def measure(client: Any, timed: Timed, path: str, repeat: int) -> list[float]:
    client.get(path)  # warm the page cache and the template
    samples = []
    for _ in range(repeat):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        samples.append(timed.last_ms)
    return samples


def naive_search(url: str, word: str, repeat: int) -> list[float]:
    """The reference: the searched page's two queries (how many match, and the first 25) done
    without the index, as LIKE scans over every version's text, timed alone."""
    db = Database(url)
    matching = (
        "FROM incidents i WHERE i.title LIKE :w OR i.summary LIKE :w OR EXISTS ("
        "SELECT 1 FROM update_versions v JOIN updates u ON u.id = v.update_id "
        "WHERE u.incident_id = i.id AND (v.body LIKE :w OR v.reason LIKE :w))"
    )
    count = text(f"SELECT count(*) {matching}")
    page = text(f"SELECT i.id {matching} ORDER BY i.created_at DESC, i.id DESC LIMIT 25")
    samples = []
    with db.engine.connect() as conn:
        for _ in range(repeat + 1):
            started = time.perf_counter()
            conn.execute(count, {"w": f"%{word}%"}).scalar()
            conn.execute(page, {"w": f"%{word}%"}).all()
            samples.append((time.perf_counter() - started) * 1000)
    db.dispose()
    return samples[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument(
        "--keep", metavar="DIR", help="build the database in DIR once and reuse it on later runs"
    )
    args = parser.parse_args()

    from starlette.testclient import TestClient

    with tempfile.TemporaryDirectory() as temporary:
        scratch = args.keep or temporary
        name = f"bench-{args.incidents}x{args.updates}.db"
        url = f"sqlite:///{scratch}/{name}"
        if not (Path(scratch) / name).exists():
            started = time.perf_counter()
            versions = build(url, args.incidents, args.updates)
            print(
                f"built {args.incidents:,} incidents x {args.updates} updates = {versions:,} versions in "
                f"{time.perf_counter() - started:.0f} s (full-text index filled by its triggers)"
            )
        size_mb = (Path(scratch) / name).stat().st_size / 1e6
        print(f"database {size_mb:.0f} MB: {args.incidents:,} incidents x {args.updates} updates")
        settings = Settings(database_url=url, archive_dir=Path(scratch) / "archive", outbox_in_process=False)
        timed = Timed(create_app(settings))
        deep = max(1, args.incidents // 50)  # the middle of the archive
        pages = {
            "plain, page 1": "/archive",
            f"plain, page {deep}": f"/archive?page={deep}",
            "filtered: category": "/archive?category=Fire",
            "filtered: category + 6 months": "/archive?category=Fire&from=2024-01-01&to=2024-06-30",
            "searched: evacuation": "/archive?q=evacuation",
            "searched: orchard blvd": "/archive?q=orchard+blvd",
            'searched: "shelter in place" -restored': '/archive?q="shelter+in+place"+-restored',
            "searched + category + year": f"/archive?q=detour&category=Transport&{YEAR_2024}",
        }
        rows = []
        with TestClient(timed) as client:
            floor = summary(measure(client, timed, "/healthz", args.repeat))
            for name, path in pages.items():
                rows.append((name, summary(measure(client, timed, path, args.repeat))))
        naive = summary(naive_search(url, "evacuation", max(5, args.repeat // 5)))

    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\nserver time per request, {args.repeat} requests each (ms)")
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)")
    print(f"{'page':40} {'p50':>8} {'p95':>8} {'max':>8}")
    for name, (p50, p95, worst) in rows:
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {worst:8.1f}")
    print(f"{'reference: floor (GET /healthz)':40} {floor[0]:8.1f} {floor[1]:8.1f} {floor[2]:8.1f}")
    print(f"{'reference: LIKE search, queries only':40} {naive[0]:8.1f} {naive[1]:8.1f} {naive[2]:8.1f}")
    searched = dict(rows)["searched: evacuation"]
    print(f"\nratio searched page / LIKE-scan queries alone (p50): {searched[0] / naive[0]:.3f}")
    print(f"ratio slowest archive page / floor (p50): {max(r[1][0] for r in rows) / floor[0]:.1f}")
    worst_p95 = max(r[1][1] for r in rows)
    verdict = "PASS" if worst_p95 < TARGET_MS else "FAIL"
    print(
        f"target: every archive page p95 under {TARGET_MS:.0f} ms; slowest p95 {worst_p95:.1f} ms: {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
