"""kill -9 of the server or the worker at random points during 200 publishes with every channel
enabled: afterwards every acknowledged version is in the database exactly once, every feed and
archive file reflects it, every version is posted exactly once on X and on Mastodon, and
`console audit verify` passes."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from console.db import Database
from console.domain import outbox
from console.models import Delivery, DeliveryState, Incident, Update, UpdateVersion
from tests.live.support import SHARED_REDIS
from tests.security.support import ApiClient, audit_verify, feed_entry_ids, social_env
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX
from tests.support.factories import make_token
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.slow  # kill -9 of server and worker processes

PUBLISHES = 200
KILLS = 12  # half of them, at random, the server's; the others the worker's
CHANNELS = ("live", "archive", "feeds", "x", "mastodon")


@dataclass
class Acknowledged:
    """What the API confirmed: (slug, seq, version) of every version, and each update's newest."""

    versions: list[tuple[str, int, int]] = field(default_factory=list)
    current: dict[int, tuple[str, int, int]] = field(default_factory=dict)  # update id -> slug, seq, version


class Killer(threading.Thread):
    """kill -9 the server or the worker when the publisher reaches each of the chosen points,
    and start it again at once (the server on its port, so clients find it again)."""

    def __init__(self, rng: random.Random, processes: dict[str, ServerProcess], done: Acknowledged):
        super().__init__(daemon=True)
        self.rng = rng
        self.processes = processes
        self.done = done
        self.points = sorted(rng.sample(range(5, PUBLISHES - 5), KILLS))
        victims = ["server", "worker"] * (KILLS // 2)
        rng.shuffle(victims)
        self.victims = victims
        self.killed: Counter[str] = Counter()
        self.restart_seconds: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for point, victim in zip(self.points, self.victims, strict=True):
                while len(self.done.versions) < point:
                    time.sleep(0.002)
                time.sleep(self.rng.uniform(0, 0.05))  # land anywhere inside the next request
                old = self.processes[victim]
                old.kill()
                self.killed[victim] += 1
                started = time.monotonic()
                self.processes[victim] = ServerProcess(old.env, port=old.port, command=old.command).start()
                self.restart_seconds.append(time.monotonic() - started)
        except BaseException as exc:  # reported by the test
            self.error = exc


def publish_all(client: ApiClient, rng: random.Random, slugs: list[str], done: Acknowledged) -> None:
    """200 versions: new updates and corrections of earlier ones, over the API."""
    for n in range(PUBLISHES):
        if done.current and rng.random() < 0.35:
            update_id = rng.choice(sorted(done.current))
            slug, seq, version = done.current[update_id]
            answer = client.post(
                f"/updates/{update_id}/corrections",
                {
                    "body": f"Correction {n}: road {seq} reopens at {n % 24:02d}:00.",
                    "reason": f"Time given by the road crew, report {n}",
                    "corrects_version": version,
                },
            )
        else:
            slug = rng.choice(slugs)
            answer = client.post(
                f"/incidents/{slug}/updates", {"body": f"Report {n}: road closures in zone {n}."}
            )
        key = (slug, answer["seq"], answer["version"])
        done.current[answer["id"]] = key
        done.versions.append(key)


def deliveries(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.event_id, Delivery.channel)))


def wait_drained(db: Database, output: str, *, stalled_after: float = 30) -> None:
    """Until no delivery is open; fails if none completes for `stalled_after` seconds (on a
    loaded machine the worker's backlog takes a while, but it must keep moving)."""
    least, progress_at = None, time.monotonic()
    while True:
        open_ = [(d.channel, d.state, d.last_error) for d in deliveries(db) if d.state in outbox.OPEN_STATES]
        if not open_:
            return
        if least is None or len(open_) < least:
            least, progress_at = len(open_), time.monotonic()
        assert time.monotonic() - progress_at < stalled_after, f"stalled: {open_[:10]}\n{output[-3000:]}"
        time.sleep(0.2)


def test_kill_9_of_server_and_worker_during_200_publishes_loses_and_duplicates_nothing(
    db: Database,
    database_url: str,
    tmp_path: Path,
    fake_x_server: FakeX,
    fake_mastodon_server: FakeMastodon,
) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "faults-test-secret",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CHANNELS": ",".join(CHANNELS),
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "FEEDS_DIR": str(tmp_path / "feeds"),
        "FEEDS_MAX_ENTRIES": "500",
        "BROADCAST_URL": SHARED_REDIS,
        "BROADCAST_TOPIC": f"faults_{uuid.uuid4().hex[:12]}",
        "OUTBOX_IN_PROCESS": "false",  # as in production (Procfile): web and worker apart
        "OUTBOX_LEASE_SECONDS": "1",
        "OUTBOX_POLL_SECONDS": "0.1",
        "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
        "OUTBOX_BACKOFF_MAX_SECONDS": "1",
        "SOCIAL_REQUEST_TIMEOUT_SECONDS": "5",
        **social_env(fake_x_server, fake_mastodon_server),
    }
    token = make_token(db, "pio")
    processes = {
        "server": ServerProcess(env, port=port).start(),
        "worker": ServerProcess(env, command=("worker",)).start(),
    }
    client = ApiClient(processes["server"].url, token, drop_answers=0.05, rng=random.Random(seed + 2))
    slugs = [client.post("/incidents", {"title": t})["slug"] for t in ("Flooding downtown", "Gas leak")]
    done = Acknowledged()
    killer = Killer(random.Random(seed + 1), processes, done)
    started = time.monotonic()
    try:
        killer.start()
        publish_all(client, rng, slugs, done)
        killer.join(60)
        assert killer.error is None, f"seed {seed}: {killer.error!r}"
        assert not killer.is_alive()
        published_at = time.monotonic()
        wait_drained(db, processes["worker"].output)
        drained_at = time.monotonic()
    finally:
        for process in processes.values():
            process.stop()

    # 1. Every acknowledged version is in the database, once: no retried request published twice.
    with db.read() as session:
        stored = [
            (slug, seq, version)
            for slug, seq, version in session.execute(
                select(Incident.slug, Update.seq, UpdateVersion.version)
                .join(Update, Update.incident_id == Incident.id)
                .join(UpdateVersion, UpdateVersion.update_id == Update.id)
            )
        ]
    assert len(done.versions) == PUBLISHES and len(set(done.versions)) == PUBLISHES
    assert sorted(stored) == sorted(done.versions), f"seed {seed}: database and acknowledgements differ"

    assert client.replayed >= client.dropped > 0, "answers lost after the commit were replayed"

    # 2. Every delivery of every event reached its channel.
    all_deliveries = deliveries(db)
    assert {d.state for d in all_deliveries} == {DeliveryState.SENT}, f"seed {seed}"
    assert Counter(d.channel for d in all_deliveries) == {
        "live": PUBLISHES + 2,
        "archive": PUBLISHES + 2,
        "feeds": PUBLISHES + 2,
        "x": PUBLISHES,
        "mastodon": PUBLISHES,
    }

    # 3. The feed and archive files reflect every version.
    feeds = tmp_path / "feeds"
    tags = {tag.rsplit(":", 1)[1] for tag in feed_entry_ids(feeds / "feeds" / "updates.atom")}
    expected_tags = {
        f"incidents/{slug}/updates/{seq}/versions/{version}" for slug, seq, version in done.versions
    }
    assert tags == expected_tags, f"seed {seed}: the all-incidents feed misses versions"
    for slug in slugs:
        mine = {f"incidents/{s}/updates/{q}/versions/{v}" for s, q, v in done.versions if s == slug}
        for name in ("feed.atom", "feed.rss"):
            path = feeds / "incidents" / slug / name
            assert {i.rsplit(":", 1)[1] for i in feed_entry_ids(path)} == mine, f"{path} misses versions"
        record: dict[str, Any] = json.loads((tmp_path / "archive" / "incidents" / f"{slug}.json").read_text())
        archived = {(slug, u["seq"], v["version"]) for u in record["updates"] for v in u["versions"]}
        assert archived == {k for k in done.versions if k[0] == slug}, f"archive of {slug} misses versions"
    for slug, seq, version in done.versions:
        assert (feeds / "incidents" / slug / "cap" / f"{seq}-{version}.xml").is_file()

    # 4. Each version is posted exactly once on each network, in order, in intact threads.
    for network, posts in (
        ("x", [(t.id, t.text, t.in_reply_to) for t in fake_x_server.live_tweets()]),
        ("mastodon", [(s.id, s.text, s.in_reply_to) for s in fake_mastodon_server.statuses]),
    ):
        sent = [d for d in all_deliveries if d.channel == network]
        assert len(posts) == PUBLISHES, (
            f"seed {seed}: {len(posts)} posts on {network} for {PUBLISHES} versions"
        )
        assert [d.external_id for d in sent] == [p[0] for p in posts], f"{network}: one post each, in order"
        assert [d.detail for d in sent] == [p[1] for p in posts]
        ids = {p[0] for p in posts}
        assert all(parent is None or parent in ids for _, _, parent in posts), f"{network}: a thread broke"
        assert sum(parent is None for _, _, parent in posts) == len(slugs), (
            f"{network}: one thread per incident"
        )

    # 5. The audit chain and every version's hash hold, by the operator's own command.
    verified = audit_verify(database_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit chain verified" in verified.stdout

    print(
        f"\ncrash safety (seed {seed}): {PUBLISHES} versions acknowledged, "
        f"kills: {dict(killer.killed)}, requests whose answer was lost and were sent again: "
        f"{client.resent} (of which {client.dropped} answers dropped on purpose after the commit), "
        f"answers replayed: {client.replayed}; "
        f"restart to healthy: max {max(killer.restart_seconds):.1f} s; publishing took "
        f"{published_at - started:.1f} s, outbox drained {drained_at - published_at:.1f} s later; "
        f"{len(all_deliveries)} deliveries sent"
    )
