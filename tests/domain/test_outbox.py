"""The outbox: every delivery is recorded, retried, resumable after a crash, never lost."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import event, select

from console.channels.archive import ArchiveChannel
from console.channels.base import GiveUp, Outcome, RetryLater, Sent, Skipped
from console.channels.live import LiveChannel
from console.channels.subscribers import SubscribersChannel
from console.db import Database
from console.dispatcher import Dispatcher, RetryPolicy
from console.domain import outbox
from console.domain.errors import NotAllowed, PermissionDenied
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Claim, Routing
from console.domain.updates import Draft, publish_update
from console.live.bus import LiveBus
from console.models import AuditEvent, Delivery, DeliveryState, EventType, utcnow
from console.settings import Settings
from tests.conftest import PIO, REVIEWER


class FakeChannel:
    """Answers with a scripted list of outcomes (an exception is raised), then `Sent`."""

    name: ClassVar[str] = "fake"
    accepts: ClassVar[frozenset[EventType]] = frozenset({EventType.VERSION_PUBLISHED})
    ordered: ClassVar[bool] = True
    timeout_seconds: ClassVar[float] = 5.0

    def __init__(self, script: list[Outcome | Exception] | None = None) -> None:
        self.script = list(script or [])
        self.calls: list[Claim] = []

    async def deliver(self, claim: Claim) -> Outcome:
        self.calls.append(claim)
        step = self.script.pop(0) if self.script else Sent(external_id=f"post-{claim.delivery_id}")
        if isinstance(step, Exception):
            raise step
        return step


FAKE_ROUTING = Routing({"fake": FakeChannel.accepts})


def publish(db: Database, routing: Routing, bodies: list[str]) -> list[int]:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        return [
            publish_update(session, PIO, incident.slug, Draft(body=body), routing=routing).event.event_id
            for body in bodies
        ]


def deliveries(db: Database, channel: str = "fake") -> list[Delivery]:
    with db.read() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.channel == channel).order_by(Delivery.event_id))
        )


def audit_actions(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def dispatcher(db: Database, channel: FakeChannel, **kwargs: object) -> Dispatcher:
    options: dict[str, object] = {
        "retry": RetryPolicy(5, 0.01, 0.02),
        "poll_seconds": 0.02,
        "lease_seconds": 5.0,
    }
    options.update(kwargs)
    return Dispatcher(db, {channel.name: channel}, **options)  # type: ignore[arg-type]


def test_live_and_archive_channels_deliver(
    settings: Settings, db: Database, routing: Routing, tmp_path: Path
) -> None:
    publish(db, routing, ["Trees down on Route 9"])
    bus = LiveBus.from_settings(settings)

    async def run() -> list[object]:
        async with bus.subscribe() as subscription:
            channels = {"live": LiveChannel(bus), "archive": ArchiveChannel(db, tmp_path)}
            await Dispatcher.from_settings(settings, db, channels).drain()
            # the broadcast hands messages over asynchronously, in order
            return [await asyncio.wait_for(subscription.get(), 5) for _ in range(2)]

    messages = asyncio.run(run())
    assert [m.event_type for m in messages] == ["incident.created", "version.published"]  # type: ignore[attr-defined]
    assert {d.state for d in deliveries(db, "live") + deliveries(db, "archive")} == {DeliveryState.SENT}
    record = json.loads((tmp_path / "incidents" / "storm.json").read_text())
    assert record["updates"][0]["versions"][0]["body"] == "Trees down on Route 9"
    assert "deliveries" not in record["updates"][0], "the archive is public: no delivery errors"


def test_transient_failures_retry_with_backoff_then_succeed(db: Database) -> None:
    channel = FakeChannel([RetryLater("503 from upstream"), RetryLater("connection reset")])
    publish(db, FAKE_ROUTING, ["Flooding on 5th"])
    asyncio.run(_drain_until_settled(dispatcher(db, channel), db))
    [delivery] = deliveries(db)
    assert delivery.state is DeliveryState.SENT
    assert delivery.attempts == 3
    assert delivery.external_id == f"post-{delivery.id}"
    actions = [a for a in audit_actions(db) if a.startswith("delivery.")]
    assert actions == ["delivery.attempted", "delivery.failed"] * 2 + ["delivery.attempted", "delivery.sent"]


async def _drain_until_settled(d: Dispatcher, db: Database, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while any(x.state in outbox.OPEN_STATES for x in deliveries(db)):
            await d.drain()
            await asyncio.sleep(0.01)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    import random

    rng = random.Random(7)
    delays = [outbox.backoff_seconds(n, base=2, cap=300, rng=rng) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        full = min(300, 2 * 2 ** (n - 1))
        assert full / 2 <= delay <= full
    assert len({round(d, 6) for d in delays}) == len(delays), "jittered, not identical"


def test_retry_after_is_honoured(db: Database) -> None:
    channel = FakeChannel([RetryLater("429 rate limited", retry_after=120)])
    publish(db, FAKE_ROUTING, ["x"])
    before = utcnow()
    asyncio.run(dispatcher(db, channel).drain())
    [delivery] = deliveries(db)
    assert delivery.state is DeliveryState.PENDING
    assert delivery.last_error == "429 rate limited"
    assert timedelta(seconds=119) <= delivery.next_attempt_at - before <= timedelta(seconds=125)


def test_give_up_marks_failed_until_a_person_retries(db: Database) -> None:
    channel = FakeChannel([GiveUp("401 Unauthorized: check X_API_KEY")])
    publish(db, FAKE_ROUTING, ["x"])
    d = dispatcher(db, channel)
    asyncio.run(d.drain())
    [delivery] = deliveries(db)
    assert (delivery.state, delivery.last_error) == (
        DeliveryState.FAILED,
        "401 Unauthorized: check X_API_KEY",
    )

    with pytest.raises(PermissionDenied), db.write() as session:
        outbox.retry(session, REVIEWER, delivery.id)
    with db.write() as session:
        outbox.retry(session, PIO, delivery.id)
    with pytest.raises(NotAllowed), db.write() as session:
        outbox.retry(session, PIO, delivery.id)
    asyncio.run(d.drain())
    [delivery] = deliveries(db)
    assert delivery.state is DeliveryState.SENT and delivery.attempts == 2
    assert "delivery.retry_requested" in audit_actions(db)


def test_gives_up_after_the_maximum_attempts(db: Database) -> None:
    channel = FakeChannel([RetryLater("down")] * 10)
    publish(db, FAKE_ROUTING, ["x"])
    asyncio.run(_drain_until_settled(dispatcher(db, channel, retry=RetryPolicy(3, 0.001, 0.001)), db))
    [delivery] = deliveries(db)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.attempts == 3
    assert delivery.last_error == "down (gave up after 3 attempts)"


def test_skipped_records_its_reason_and_detail(db: Database) -> None:
    channel = FakeChannel([Skipped("preview: no credentials", detail="PRELIMINARY: x https://...")])
    publish(db, FAKE_ROUTING, ["x"])
    asyncio.run(dispatcher(db, channel).drain())
    [delivery] = deliveries(db)
    assert (delivery.state, delivery.note, delivery.detail) == (
        DeliveryState.SKIPPED,
        "preview: no credentials",
        "PRELIMINARY: x https://...",
    )


def test_an_ordered_channel_holds_later_deliveries_behind_a_retrying_one(db: Database) -> None:
    channel = FakeChannel([RetryLater("down", retry_after=3600)])
    publish(db, FAKE_ROUTING, ["first", "second"])
    asyncio.run(dispatcher(db, channel).drain())
    first, second = deliveries(db)
    assert first.state is DeliveryState.PENDING and first.attempts == 1
    assert second.state is DeliveryState.PENDING and second.attempts == 0, "not sent ahead of the first"
    assert len(channel.calls) == 1


def test_an_unordered_channel_does_not_wait(db: Database) -> None:
    class Unordered(FakeChannel):
        ordered: ClassVar[bool] = False

    channel = Unordered([RetryLater("down", retry_after=3600)])
    publish(db, FAKE_ROUTING, ["first", "second"])
    asyncio.run(dispatcher(db, channel).drain())
    first, second = deliveries(db)
    assert (first.state, second.state) == (DeliveryState.PENDING, DeliveryState.SENT)


def test_a_crashed_claim_is_resumed_after_its_lease_and_marked_interrupted(db: Database) -> None:
    publish(db, FAKE_ROUTING, ["x"])
    now = utcnow()
    with db.write() as session:  # a worker claims, then dies before recording anything
        dead = outbox.claim_next(session, "fake", ordered=True, lease_seconds=30, now=now)
    assert dead is not None and not dead.interrupted
    with db.write() as session:
        assert outbox.claim_next(session, "fake", ordered=True, lease_seconds=30, now=now) is None
    with db.write() as session:
        resumed = outbox.claim_next(
            session, "fake", ordered=True, lease_seconds=30, now=now + timedelta(seconds=31)
        )
    assert resumed is not None
    assert (resumed.delivery_id, resumed.attempt, resumed.interrupted) == (dead.delivery_id, 2, True)
    with db.write() as session:  # the dead worker's late answer is not recorded over the new claim
        assert outbox.settle(session, dead, DeliveryState.SENT, external_id="late") is False
        assert outbox.settle(session, resumed, DeliveryState.SENT, external_id="resumed") is True
    [delivery] = deliveries(db)
    assert delivery.external_id == "resumed"


def test_concurrent_claims_never_hand_out_the_same_delivery(db: Database) -> None:
    publish(db, FAKE_ROUTING, [f"u{i}" for i in range(40)])
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with db.write() as session:
                claim = outbox.claim_next(session, "fake", ordered=False, lease_seconds=60)
            if claim is None:
                return
            with lock:
                claimed.append(claim.delivery_id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 40 == len(set(claimed))


class Blocking(FakeChannel):
    """Holds every delivery until the test releases it."""

    name: ClassVar[str] = "blocking"

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def deliver(self, claim: Claim) -> Outcome:
        self.calls.append(claim)
        await self.release.wait()
        return Sent(external_id="released")


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_hanging_channel_never_delays_another(db: Database) -> None:
    fast, stuck = FakeChannel(), Blocking()
    routing = Routing({"fake": fast.accepts, "blocking": stuck.accepts})
    publish(db, routing, ["first"])
    d = Dispatcher(
        db,
        {"fake": fast, "blocking": stuck},
        poll_seconds=0.02,
        lease_seconds=5.0,
        retry=RetryPolicy(5, 0.01, 0.02),
    )

    async def run() -> None:
        task = asyncio.create_task(d.run())
        try:
            await _until(lambda: len(stuck.calls) == 1)  # the blocking channel is mid-delivery
            publish(db, routing, ["second"])
            d.wake()
            await _until(lambda: [x.state for x in deliveries(db, "fake")] == [DeliveryState.SENT] * 2)
            assert [x.state for x in deliveries(db, "blocking")] == [
                DeliveryState.SENDING,
                DeliveryState.PENDING,
            ]
            stuck.release.set()
            await _until(lambda: [x.state for x in deliveries(db, "blocking")] == [DeliveryState.SENT] * 2)
        finally:
            task.cancel()

    asyncio.run(run())


def test_a_dispatcher_stops_when_cancelled_as_it_is_woken(db: Database, settings: Settings) -> None:
    """A stop that arrives as a publication wakes the lanes and the fan-out runner still stops
    them all (on Python 3.11 asyncio.wait_for swallowed such a cancellation, and the loop went
    on for good, keeping a stopping server alive)."""
    subscribers = SubscribersChannel.from_settings(replace(settings, outbox_poll_seconds=30), db)
    d = Dispatcher(
        db,
        {"fake": FakeChannel(), "subscribers": subscribers},
        poll_seconds=30,
        lease_seconds=5.0,
        retry=RetryPolicy(5, 0.01, 0.02),
    )

    async def run() -> None:
        task = asyncio.create_task(d.run())
        await asyncio.sleep(0.5)  # every lane, and the runner, is waiting for a wake-up
        d.wake()
        subscribers.runner.wake()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert task in done and task.cancelled(), "a lane went on after the stop"

    asyncio.run(run())


def test_a_delivery_that_never_answers_times_out_and_is_retried(db: Database) -> None:
    class Hanging(FakeChannel):
        timeout_seconds: ClassVar[float] = 0.2

        async def deliver(self, claim: Claim) -> Outcome:
            self.calls.append(claim)
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

    channel = Hanging()
    publish(db, FAKE_ROUTING, ["x"])
    asyncio.run(dispatcher(db, channel, retry=RetryPolicy(5, 60, 60)).drain())
    [hung] = deliveries(db)
    assert (hung.state, hung.attempts, hung.last_error) == (
        DeliveryState.PENDING,
        1,
        "no answer within 0.2 s",
    )


def test_an_outcome_the_database_could_not_take_is_recorded_once_it_answers(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database restart between delivering and recording must not leave the delivery
    `sending` until its lease runs out (holding back its ordered lane that long)."""
    from sqlalchemy.exc import OperationalError

    channel = FakeChannel()
    publish(db, FAKE_ROUTING, ["Bridge closed", "Bridge reopened"])
    d = dispatcher(db, channel, lease_seconds=300.0)
    settle = d._settle
    refusals = [OperationalError("COMMIT", {}, Exception("server closed the connection"))] * 2

    def restarting(claim: Claim, outcome: Outcome) -> None:
        if refusals:
            raise refusals.pop()
        settle(claim, outcome)

    monkeypatch.setattr(d, "_settle", restarting)
    asyncio.run(_drain_until_settled(d, db, timeout=5))
    assert [x.state for x in deliveries(db)] == [DeliveryState.SENT] * 2
    assert [x.attempts for x in deliveries(db)] == [1, 1], "delivered once each, recorded when it could be"
    assert len(channel.calls) == 2


class UrgentChannel(FakeChannel):
    name: ClassVar[str] = "urgent"
    urgent: ClassVar[bool] = True


def test_in_a_web_process_other_channels_wait_for_the_residents_push(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(db, Routing({"fake": FakeChannel.accepts, "urgent": UrgentChannel.accepts}), ["Trees down"])
    fake, urgent = FakeChannel(), UrgentChannel()

    async def scenario() -> tuple[list[int], list[int], list[int], list[int]]:
        pushed = asyncio.Event()
        d = Dispatcher(
            db,
            {"fake": fake, "urgent": urgent},
            retry=RetryPolicy(5, 0.01, 0.02),
            poll_seconds=0.02,
            lease_seconds=5.0,
            residents_first=pushed.wait,
        )
        # The live broadcast goes at once, during the push (its outcome is then told to the
        # other channels once the push is done: awaited to the end only after it).
        broadcast = asyncio.create_task(d.process_next("urgent"))
        await _until(lambda: len(urgent.calls) == 1)
        waiting = asyncio.create_task(d.process_next("fake"))
        await asyncio.sleep(0.2)
        while_pushing = [c.delivery_id for c in fake.calls]
        pushed.set()
        assert await asyncio.wait_for(broadcast, 5)
        assert await asyncio.wait_for(waiting, 5)
        after_push = [c.delivery_id for c in fake.calls]
        # A stream that never says it is done holds the others for RESIDENTS_FIRST_SECONDS only.
        monkeypatch.setattr("console.dispatcher.RESIDENTS_FIRST_SECONDS", 0.1)
        never = Dispatcher(
            db,
            {"fake": fake},
            retry=RetryPolicy(5, 0.01, 0.02),
            poll_seconds=0.02,
            lease_seconds=5.0,
            residents_first=asyncio.Event().wait,
        )
        publish(db, Routing({"fake": FakeChannel.accepts}), ["Road open"])
        assert await asyncio.wait_for(never.process_next("fake"), 5)
        return (
            [c.delivery_id for c in urgent.calls],
            while_pushing,
            after_push,
            [c.delivery_id for c in fake.calls],
        )

    urgent_calls, while_pushing, after_push, in_all = asyncio.run(scenario())
    assert len(urgent_calls) == 1
    assert while_pushing == []
    assert len(after_push) == 1
    assert len(in_all) == 2


class SlowChannel(FakeChannel):
    """Takes `seconds` to send each delivery, and says when it has started one."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = asyncio.Event()

    async def deliver(self, claim: Claim) -> Outcome:
        self.started.set()
        await asyncio.sleep(self.seconds)
        return await super().deliver(claim)


@pytest.mark.parametrize(
    ("sending_seconds", "grace_seconds", "recorded"), [(0.1, 1.0, True), (30.0, 0.3, False)]
)
def test_a_stopping_dispatcher_records_what_it_is_sending_and_claims_nothing_more(
    db: Database, sending_seconds: float, grace_seconds: float, recorded: bool
) -> None:
    """A restart's SIGTERM: the delivery under way is recorded, within the grace period (one
    cut off at its end keeps its lease, to be sent again as interrupted); the next one waits
    for the next dispatcher. (A grace period the sending outlasts is waited out whole: short.)"""
    channel = SlowChannel(sending_seconds)
    publish(db, FAKE_ROUTING, ["Flooding on 5th", "Road closed at 9th"])
    stopping = dispatcher(db, channel)

    async def stop_while_sending() -> None:
        running = asyncio.create_task(stopping.run())
        await asyncio.wait_for(channel.started.wait(), 5)
        await stopping.finish(running, grace_seconds=grace_seconds)
        assert running.done()

    asyncio.run(stop_while_sending())
    first, second = deliveries(db)
    assert first.state is (DeliveryState.SENT if recorded else DeliveryState.SENDING)
    assert (second.state, second.attempts) == (DeliveryState.PENDING, 0)
    assert len(channel.calls) == (1 if recorded else 0)


def test_due_times_give_each_channel_when_it_can_next_claim(db: Database) -> None:
    class Unordered(FakeChannel):
        name: ClassVar[str] = "unordered"
        ordered: ClassVar[bool] = False

    routing = Routing({"fake": FakeChannel.accepts, "unordered": Unordered.accepts})
    publish(db, routing, ["first", "second"])
    now = utcnow()
    later = now + timedelta(hours=1)
    with db.write() as session:  # the oldest of each channel waits an hour to be tried again
        for channel in ("fake", "unordered"):
            oldest = session.scalars(
                select(Delivery).where(Delivery.channel == channel).order_by(Delivery.event_id)
            ).first()
            assert oldest is not None
            oldest.next_attempt_at = later
    with db.read() as session:
        times = outbox.due_times(session, {"fake": True, "unordered": False, "idle": True})
    # Ordered: nothing can go before the oldest. Unordered: the second can go now.
    assert times.keys() == {"fake", "unordered"}, "a channel with nothing open is left out"
    assert times["fake"] == later
    assert times["unordered"] <= now + timedelta(seconds=1)


def test_an_idle_dispatcher_polls_with_one_read_whatever_its_number_of_channels(db: Database) -> None:
    """The watcher looks for every lane at once: statements per poll do not grow with lanes."""

    def statements_while_idle(lanes: int) -> int:
        channels = {}
        for n in range(lanes):
            channel = FakeChannel()
            channel.name = f"fake{n}"  # type: ignore[misc]
            channels[channel.name] = channel
        counted: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            counted.append(statement)

        d = Dispatcher(db, channels, poll_seconds=0.01, lease_seconds=5.0, retry=RetryPolicy(5, 0.01, 0.02))

        async def run() -> None:
            task = asyncio.create_task(d.run())
            await asyncio.sleep(0.1)  # every lane and the watcher are waiting
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                await asyncio.sleep(0.5)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
                await d.finish(task)

        asyncio.run(run())
        return len(counted)

    one, twelve = statements_while_idle(1), statements_while_idle(12)
    assert one > 5, "the watcher polled"
    # Looking lane by lane, twelve lanes read twelve times as much.
    assert twelve < 2 * one, (one, twelve)
