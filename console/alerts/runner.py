"""The fan-out runner: works the fan-out jobs the `subscribers` channel creates, one batch
at a time (see `console.domain.fanout`), in the worker process beside the dispatcher.

Each job is sent by its alert channel's sender (`console.alerts.sender`), in chunks, over as
many lanes as the sender asks. Nothing here runs inside a publishing transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from console.alerts.content import AlertSource
from console.alerts.sender import AlertSender, EventContents, SendChunk
from console.db import Database
from console.domain import fanout
from console.languages import Languages
from console.models import utcnow
from console.settings import Settings

log = logging.getLogger("console.alerts")


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow to renew its lease)."""


class FanoutRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        senders: Sequence[AlertSender],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.senders = {sender.channel: sender for sender in senders}
        self.clock = clock
        self._wake = asyncio.Event()
        # Set when the dispatcher stops: a job under way ends after its batch in flight (its
        # rows left pending, never `sending`), and the next worker goes on with it.
        self._stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                if await self.step():
                    continue
            except Exception:
                log.exception("fan-out step failed; trying again")
            # asyncio.timeout, not wait_for: see Dispatcher._lane.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.outbox_poll_seconds):
                    await self._wake.wait()

    async def step(self) -> bool:
        """Work one claimable job to its end; False if none was due."""
        return await asyncio.to_thread(self.work_one)

    async def drain(self) -> bool:
        worked = False
        while not self._stopping.is_set() and await self.step():
            worked = True
        return worked

    def work_one(self) -> bool:
        with self.db.write() as session:
            claim = fanout.claim_job(
                session, lease_seconds=self.settings.outbox_lease_seconds, now=self.clock()
            )
        if claim is None:
            return False
        if claim.interrupted:
            log.warning(
                "fan-out job %s resumed: %s messages a dead worker may have sent are not sent again",
                claim.job_id,
                claim.interrupted,
            )
        sender = self.senders[claim.channel]
        # Rendered at the first batch: most publications find no subscriber on most channels.
        send: SendChunk | None = None
        try:
            with ThreadPoolExecutor(sender.lanes, thread_name_prefix="fanout") as pool:
                while not self._stopping.is_set():
                    with self.db.write() as session:
                        batch = fanout.reserve_batch(
                            session,
                            claim,
                            size=self.settings.subscriber_batch_size,
                            lease_seconds=self.settings.outbox_lease_seconds,
                            now=self.clock(),
                        )
                    if not batch:  # done, or the lease was lost to another worker
                        return True
                    if send is None:
                        send = sender.for_event(self._contents(claim.event_id))
                    chunks = [
                        batch[i : i + fanout.IN_FLIGHT_MAX]
                        for i in range(0, len(batch), fanout.IN_FLIGHT_MAX)
                    ]
                    for done in [pool.submit(self._chunk, claim, chunk, send) for chunk in chunks]:
                        done.result()
            return True  # stopped between batches: the job's lease runs out, another worker resumes it
        except LeaseLost:
            log.warning("fan-out job %s was taken over by another worker", claim.job_id)
            return True
        finally:
            sender.close()

    def _chunk(self, claim: fanout.JobClaim, chunk: list[fanout.Recipient], send: SendChunk) -> None:
        """Mark up to IN_FLIGHT_MAX rows `sending`, send them, record how each went."""
        lease = self.settings.outbox_lease_seconds
        with self.db.write() as session:
            if not fanout.mark_sending(
                session, claim, [r.delivery_id for r in chunk], lease_seconds=lease, now=self.clock()
            ):
                raise LeaseLost()
        results = send(chunk)
        with self.db.write() as session:
            if not fanout.record_batch(session, claim, results, lease_seconds=lease, now=self.clock()):
                raise LeaseLost()

    def _contents(self, event_id: int) -> EventContents:
        languages = Languages(self.settings.languages)
        with self.db.read() as session:
            source = AlertSource(session, event_id, languages, self.settings.public_url)
            by_lang = {lang: source.content(lang) for lang in languages.tags}
        return EventContents(event_id, by_lang, languages.primary)
