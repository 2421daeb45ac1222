"""The outbox dispatcher: one lane per channel, so a slow or failing network never holds up
another channel. Each lane claims a due delivery, calls the adapter and records the result.

All state lives in the database: a dispatcher killed at any point leaves claimed rows whose
leases run out, and any dispatcher (this one restarted, or another process) resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import InterfaceError, OperationalError

from console.channels.base import (
    BackgroundWork,
    Channel,
    ChannelFailing,
    GiveUp,
    Outcome,
    RetryLater,
    Sent,
    Urgent,
)
from console.db import Database
from console.domain import channel_health, outbox
from console.models import DeliveryState, utcnow
from console.settings import Settings

log = logging.getLogger("console.dispatcher")
# While the database is down, how often (at most) a lane tries again to record an outcome.
RECORD_RETRY_MAX_SECONDS = 2.0
# How long a web process's other channels wait at most for its push to residents.
RESIDENTS_FIRST_SECONDS = 2.0
# How long a stopping dispatcher waits for the deliveries it is sending to be recorded: a
# restart sends SIGTERM, and platforms kill 10 s later (Docker) or 30 s (Heroku). One cut short
# keeps its lease until it runs out (OUTBOX_LEASE_SECONDS) and is then sent again as interrupted.
STOP_GRACE_SECONDS = 8.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.outbox_max_attempts,
            settings.outbox_backoff_base_seconds,
            settings.outbox_backoff_max_seconds,
        )


class Dispatcher:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        lease_seconds: float,
        poll_seconds: float,
        retry: RetryPolicy,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        residents_first: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.retry = retry
        self.clock = clock
        self.rng = rng or random.Random()
        self._wake = {name: asyncio.Event() for name in self.channels}
        # Set when the lanes' due times may have changed: the watcher looks again (`_watch`).
        self._look = asyncio.Event()
        self._stopping = False
        self.residents_first = residents_first

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        residents_first: Callable[[], Awaitable[None]] | None = None,
    ) -> Dispatcher:
        return cls(
            db,
            channels,
            lease_seconds=settings.outbox_lease_seconds,
            poll_seconds=settings.outbox_poll_seconds,
            retry=RetryPolicy.from_settings(settings),
            residents_first=residents_first,
        )

    def wake(self) -> None:
        """Something was just published in this process: look now rather than at the next poll."""
        self._look.set()

    async def run(self) -> None:
        """Deliver until stopped (`finish`): returns once every lane has recorded its last. A
        lane or background work that fails takes the whole dispatcher down with it."""
        async with asyncio.TaskGroup() as group:
            background = [
                group.create_task(channel.run_background(), name=f"outbox-background-{name}")
                for name, channel in self.channels.items()
                if isinstance(channel, BackgroundWork)
            ]
            lanes = [
                group.create_task(self._lane(name), name=f"outbox-lane-{name}") for name in self.channels
            ]
            watcher = group.create_task(self._watch(), name="outbox-watcher")
            await asyncio.wait([*lanes, watcher])
            for task in background:  # told to stop by `finish`: what is under way ends soon
                task.cancel()

    async def finish(self, running: asyncio.Task[None], *, grace_seconds: float = STOP_GRACE_SECONDS) -> bool:
        """Stop `running` (this dispatcher's `run` or `drain`) gently: nothing more is claimed, and
        each delivery under way is recorded, for at most `grace_seconds`; then it is cancelled.
        False if it was cut short (work it started in threads may still be running). Raises what
        `running` failed with, if it did."""
        self._stopping = True
        for channel in self.channels.values():
            if isinstance(channel, BackgroundWork):
                channel.stop_background()
        for event in (*self._wake.values(), self._look):
            event.set()
        try:
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(running)
            return True
        except TimeoutError:
            log.warning(
                "outbox: deliveries still under way after %g s; leaving them to their leases", grace_seconds
            )
            running.cancel()
            try:
                await running
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the caller itself is being cancelled
            return False

    async def _watch(self) -> None:
        """Wake each lane when it has something due. One read looks for every lane at once
        (before any claim, a write, which takes the write lock every process shares): an idle
        dispatcher's poll is one read, whatever its number of channels. It looks again at the
        next poll, at the soonest due time, or as soon as `_look` says times may have changed."""
        while not self._stopping:
            self._look.clear()
            try:
                due = await asyncio.to_thread(self._due_times)
            except Exception:  # the database is down or restarting: keep trying
                log.exception("outbox could not reach the database")
                due = {}
            now = self.clock()
            delay = self.poll_seconds
            for name, moment in due.items():
                if moment <= now:
                    self._wake[name].set()
                else:
                    delay = min(delay, max((moment - now).total_seconds(), 0.01))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # arrives as the wake-up does, and the task would then outlive its dispatcher's stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._look.wait()

    async def _lane(self, name: str) -> None:
        """Deliver the channel's due deliveries, one after another, each time it is woken."""
        wake = self._wake[name]
        while not self._stopping:
            await wake.wait()
            wake.clear()
            delivered = False
            try:
                while await self.process_next(name):
                    delivered = True
            except Exception:  # the database is down or restarting: the watcher wakes it again
                log.exception("outbox lane %s could not reach the database", name)
            if delivered:  # what it recorded (a retry's time, the next in order) is due when?
                self._look.set()

    async def process_next(self, name: str) -> bool:
        """Claim and deliver one due delivery of channel `name`; False if none was due."""
        channel = self.channels[name]
        if not (isinstance(channel, Urgent) and channel.urgent):
            await self._after_residents()
        if self._stopping:  # told to stop while it looked or let the residents go first
            return False
        claim = await asyncio.to_thread(self._claim, name)
        if claim is None:
            return False
        keeper = asyncio.create_task(self._keep_lease(claim))
        try:
            async with asyncio.timeout(channel.timeout_seconds):  # not wait_for (see _lane)
                outcome = await channel.deliver(claim)
        except RetryLater as exc:
            await self._record(claim, self._failed, claim, str(exc), exc.retry_after)
        except GiveUp as exc:
            await self._record(claim, self._gave_up, claim, str(exc))
        except ChannelFailing as exc:
            log.error("channel %s paused until a person resumes it: %s", name, exc)
            await self._record(claim, self._pause, claim, str(exc))
        except TimeoutError:
            await self._record(
                claim, self._failed, claim, f"no answer within {channel.timeout_seconds:g} s", None
            )
        except Exception as exc:
            log.exception("channel %s failed on delivery %s", name, claim.delivery_id)
            await self._record(claim, self._failed, claim, f"{type(exc).__name__}: {exc}", None)
        else:
            await self._record(claim, self._settle, claim, outcome)
        finally:
            keeper.cancel()
        await self._tell_recorded(claim)
        return True

    async def _after_residents(self) -> None:
        """In a web process: let its live stream push what was just published to the residents
        first. The feeds', archive's and other channels' work in threads took the event loop's
        turns and stretched the push to 10,000 residents 2.5 times the bare reference's
        (bench/fanout, issue 20); a second later it costs the same and delays no one."""
        if self.residents_first is None:  # no live stream here (a `console worker`)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RESIDENTS_FIRST_SECONDS):
                await self.residents_first()

    async def _tell_recorded(self, claim: outbox.Claim) -> None:
        """Channels that copy delivery states (the archive's files) hear of every outcome: in a
        web process, after its residents' push (the urgent lane's outcome comes during it)."""
        await self._after_residents()
        for name, channel in self.channels.items():
            hook = getattr(channel, "delivery_recorded", None)
            if hook is None:
                continue
            try:
                await hook(claim.event)
            except Exception:  # a copy falling behind never stops the lane
                log.exception(
                    "channel %s could not take in the outcome of delivery %s", name, claim.delivery_id
                )

    async def _record(self, claim: outbox.Claim, step: Callable[..., None], *args: object) -> None:
        """Record an attempt's outcome, waiting for the database if it is down or restarting.

        Giving up would leave the delivery `sending` until its lease ran out, holding back an
        ordered lane that long after the database is back (and a post that was made would be
        looked up again rather than recorded). Recording twice is harmless: the second finds
        the claim settled and changes nothing."""
        delay = min(self.poll_seconds, RECORD_RETRY_MAX_SECONDS)
        while True:
            try:
                await asyncio.to_thread(step, *args)
                return
            except (OperationalError, InterfaceError):
                log.warning(
                    "could not record the outcome of delivery %s (database not answering); trying again",
                    claim.delivery_id,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)

    async def drain(self, *, timeout: float = 30.0) -> None:
        """Deliver everything due now, in every channel (tests and `console worker --once`)."""
        async with asyncio.timeout(timeout):
            while not self._stopping:
                due = await asyncio.to_thread(self._due_times)
                now = self.clock()
                ready = [name for name, moment in due.items() if moment <= now]
                results = await asyncio.gather(*(self.process_next(name) for name in ready))
                if any(results):
                    continue
                background = [c for c in self.channels.values() if isinstance(c, BackgroundWork)]
                if not any(await asyncio.gather(*(c.drain_background() for c in background))):
                    return

    async def _keep_lease(self, claim: outbox.Claim) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await asyncio.to_thread(self._renew, claim)
            except Exception:
                log.exception("could not renew the lease on delivery %s", claim.delivery_id)

    # Each of these runs in a worker thread, in its own serialized write transaction.

    def _claim(self, name: str) -> outbox.Claim | None:
        with self.db.write() as session:
            if channel_health.is_paused(session, name):
                return None
            return outbox.claim_next(
                session,
                name,
                ordered=self.channels[name].ordered,
                lease_seconds=self.lease_seconds,
                now=self.clock(),
            )

    def _due_times(self) -> dict[str, datetime]:
        """When each lane next has something to claim; a paused one is left out (looked at
        again at the next poll: a person may have resumed it)."""
        with self.db.read() as session:
            paused = channel_health.paused(session)
            lanes = {name: channel.ordered for name, channel in self.channels.items() if name not in paused}
            return outbox.due_times(session, lanes)

    def _renew(self, claim: outbox.Claim) -> None:
        with self.db.write() as session:
            outbox.renew_lease(session, claim, lease_seconds=self.lease_seconds, now=self.clock())

    def _settle(self, claim: outbox.Claim, outcome: Outcome) -> None:
        # A skip is recorded as a send with nothing to point to, its reason as the note.
        if isinstance(outcome, Sent):
            state, sent = DeliveryState.SENT, outcome
        else:
            state, sent = DeliveryState.SKIPPED, Sent(detail=outcome.detail, note=outcome.reason)
        with self.db.write() as session:
            kept = outbox.settle(
                session,
                claim,
                state,
                external_id=sent.external_id,
                external_url=sent.external_url,
                detail=sent.detail,
                note=sent.note,
                now=self.clock(),
            )
        if not kept:
            log.warning("delivery %s finished after its lease was taken over", claim.delivery_id)

    def _failed(self, claim: outbox.Claim, error: str, retry_after: float | None) -> None:
        now = self.clock()
        retry_at: datetime | None = None
        if claim.attempt < self.retry.max_attempts:
            delay = (
                retry_after
                if retry_after is not None
                else outbox.backoff_seconds(
                    claim.attempt, base=self.retry.base_seconds, cap=self.retry.max_seconds, rng=self.rng
                )
            )
            retry_at = now + timedelta(seconds=delay)
        else:
            error = f"{error} (gave up after {claim.attempt} attempts)"
        with self.db.write() as session:
            outbox.fail(session, claim, error, retry_at=retry_at, now=now)
        # The first attempts of a delivery often wait on another channel (WebSub on the feeds):
        # a warning once it keeps failing, or gives up.
        log.log(
            logging.WARNING if retry_at is None or claim.attempt >= 3 else logging.INFO,
            "delivery %s (%s) attempt %s failed: %s; %s",
            claim.delivery_id,
            claim.channel,
            claim.attempt,
            error,
            f"next attempt at {retry_at.isoformat()}" if retry_at else "given up",
        )

    def _pause(self, claim: outbox.Claim, error: str) -> None:
        """The delivery waits (pending, due now) and the channel stops until it is resumed."""
        now = self.clock()
        with self.db.write() as session:
            if outbox.fail(session, claim, f"channel paused: {error}", retry_at=now, now=now):
                channel_health.mark_failing(session, claim.channel, error, now=now)

    def _gave_up(self, claim: outbox.Claim, error: str) -> None:
        with self.db.write() as session:
            outbox.fail(session, claim, error, retry_at=None, now=self.clock())
