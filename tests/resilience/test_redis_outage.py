"""Redis down for 30 s under two `console serve` processes sharing it as their broadcast:
residents connected to either process keep receiving every update (each process also reads
new events from the database every LIVE_POLL_SECONDS), one who drops off during the outage
resumes from its last event id with nothing missed, and no one sees an event twice or out of
order. Once Redis is back the broadcast reconnects and the `live` deliveries catch up.

A private redis-server on a free port: the shared one is never stopped."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select
from websockets.sync.client import ClientConnection

from console.db import Database
from console.domain import stream
from console.models import Delivery, DeliveryState
from tests.live.support import RedisServer, live_status, receive, subscribe
from tests.security.support import ApiClient
from tests.support.factories import make_token
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow  # takes Redis down for 30 s

OUTAGE_SECONDS = 30.0
BEFORE_SECONDS = 4.0
AFTER_SECONDS = 6.0
SETTLED_SECONDS = 5.0  # once the live deliveries caught up: is the broadcast carrying events again?
PUBLISH_EVERY_SECONDS = 1.0
LIVE_POLL_SECONDS = 5.0  # the default: how stale a resident can be while the broadcast is down


class Resident(threading.Thread):
    """A live client that records each frame's event id and when it arrived."""

    def __init__(self, connection: ClientConnection, until: threading.Event) -> None:
        super().__init__(daemon=True)
        self.connection = connection
        self.until = until
        self.frames: list[tuple[int, float]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.until.is_set():
                try:
                    [frame] = receive(self.connection, 1, timeout=0.5)
                except TimeoutError:
                    continue
                self.frames.append((frame.event_id, time.monotonic()))
        except BaseException as exc:
            self.error = exc

    @property
    def ids(self) -> list[int]:
        return [event_id for event_id, _ in self.frames]


def wait_live_delivered(db: Database) -> None:
    deadline = time.monotonic() + 30
    while True:
        with db.read() as session:
            live = list(session.scalars(select(Delivery).where(Delivery.channel == "live")))
        if {d.state for d in live} == {DeliveryState.SENT}:
            return
        waiting = [(d.state, d.attempts, d.last_error) for d in live if d.state is not DeliveryState.SENT]
        assert time.monotonic() < deadline, f"live deliveries did not catch up: {waiting[:5]}"
        time.sleep(0.1)


def test_redis_down_for_30_s_live_clients_miss_nothing_and_resume_without_gaps(
    database_url: str, db: Database, tmp_path: Path, redis_server: RedisServer
) -> None:
    token = make_token(db, "pio")
    env = {
        "DATABASE_URL": database_url,
        "CHANNELS": "live,archive",
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "BROADCAST_URL": redis_server.url,
        "BROADCAST_TOPIC": f"faults_{uuid.uuid4().hex[:12]}",
        "LIVE_POLL_SECONDS": str(LIVE_POLL_SECONDS),
        "OUTBOX_POLL_SECONDS": "0.2",
        # Short, but not so short that 30 s of retries use up OUTBOX_MAX_ATTEMPTS (25).
        "OUTBOX_BACKOFF_BASE_SECONDS": "1",
        "OUTBOX_BACKOFF_MAX_SECONDS": "4",
    }
    published: list[tuple[int, float]] = []  # (event id, when the API answered)
    stop = threading.Event()
    with ExitStack() as stack:
        a, b = (stack.enter_context(ServerProcess(env)) for _ in range(2))
        client = ApiClient(a.url, token)
        slug = client.post("/incidents", {"title": "Ice storm"})["slug"]
        with db.read() as session:
            start = stream.head(session)
        ws_a, ws_b = (f"ws://127.0.0.1:{s.port}" for s in (a, b))
        on_b = Resident(stack.enter_context(subscribe(ws_b, start, incident=slug)), stop)
        residents = {
            "on B, one incident": on_b,
            "on A, every incident": Resident(stack.enter_context(subscribe(ws_a, start)), stop),
        }
        drop_off = stack.enter_context(ExitStack())  # closed when this resident drops off
        leaving = Resident(drop_off.enter_context(subscribe(ws_b, start, incident=slug)), threading.Event())
        for resident in [*residents.values(), leaving]:
            resident.start()

        def publish_for(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                answer = client.post(
                    f"/incidents/{slug}/updates", {"body": f"Roads icy, report {len(published)}."}
                )
                published.append((answer["event_id"], time.monotonic()))
                time.sleep(PUBLISH_EVERY_SECONDS)

        publish_for(BEFORE_SECONDS)
        redis_server.kill()
        down_at = time.monotonic()
        publish_for(OUTAGE_SECONDS / 2)
        leaving.until.set()  # this resident's phone drops off in the middle of the outage
        leaving.join(5)
        drop_off.close()
        publish_for(OUTAGE_SECONDS - (time.monotonic() - down_at))
        in_outage = [event_id for event_id, moment in published if moment >= down_at]
        redis_server.start()
        up_at = time.monotonic()
        publish_for(AFTER_SECONDS)
        wait_live_delivered(db)  # the `live` lane retried, and caught up through Redis
        caught_up = time.monotonic() - up_at
        settled_from = len(published)
        publish_for(SETTLED_SECONDS)
        # ...and the resident who dropped off comes back, naming the last event it showed.
        with subscribe(ws_b, leaving.ids[-1], incident=slug) as again:
            resumed = [f.event_id for f in receive(again, len(published) - len(leaving.ids), timeout=15)]
        deadline = time.monotonic() + 15
        while min(len(r.frames) for r in residents.values()) < len(published):
            assert time.monotonic() < deadline, {n: len(r.frames) for n, r in residents.items()}
            time.sleep(0.1)
        stop.set()
        for resident in residents.values():
            resident.join(5)
            assert resident.error is None, resident.error
        reconnected = [live_status(s.url, token)["broadcast_reconnections"] for s in (a, b)]
        wait_live_delivered(db)

    ids = [event_id for event_id, _ in published]
    assert len(in_outage) >= OUTAGE_SECONDS / PUBLISH_EVERY_SECONDS / 2, "updates were published during it"
    for name, resident in residents.items():
        assert resident.ids == ids, f"{name}: every event once, in order, no gap"
    assert leaving.ids == ids[: len(leaving.ids)] and leaving.ids[-1] in in_outage
    assert leaving.ids + resumed == ids, "the resident who dropped off resumed with no gap"
    assert all(count >= 1 for count in reconnected), f"the broadcast reconnected in both: {reconnected}"
    when = dict(published)
    during = [
        moment - when[event_id]
        for resident in residents.values()
        for event_id, moment in resident.frames
        if event_id in in_outage
    ]
    settled = {event_id for event_id, _ in published[settled_from:]}
    after = [moment - when[event_id] for event_id, moment in on_b.frames if event_id in settled]
    # Without the database reads, events would wait for Redis (up to the whole 30 s); without
    # the broadcast back, B's resident would keep getting them up to LIVE_POLL_SECONDS late.
    assert max(during) < 2 * LIVE_POLL_SECONDS, "while Redis was down each process read the database"
    assert len(after) == len(settled) >= 4
    assert max(after) < 2.0, "once Redis was back, the broadcast carried events to B at once again"
    print(
        f"\nRedis down {OUTAGE_SECONDS:.0f} s: {len(ids)} updates ({len(in_outage)} during the outage) "
        f"reached 2 residents in order with no gap; slowest during the outage {max(during):.1f} s "
        f"(LIVE_POLL_SECONDS={LIVE_POLL_SECONDS:g}); live deliveries caught up {caught_up:.1f} s after "
        f"Redis returned, then the slowest on the other process {max(after):.2f} s; "
        f"a resident who dropped off resumed {len(resumed)} missed events"
    )
