"""The fan-out runner: works the fan-out jobs the `subscribers` channel creates, one batch
at a time (see `console.domain.fanout`), in the worker process beside the dispatcher.

Each job's messages are rendered once per language; per recipient only the address and the
unsubscribe link change. Nothing here runs inside a publishing transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from jinja2 import Environment

from console.alert_models import AlertChannel
from console.alerts import email, webhooks
from console.alerts.content import AlertContent, AlertSource
from console.db import Database
from console.domain import fanout, subscriptions
from console.languages import Languages
from console.models import utcnow
from console.settings import Settings

log = logging.getLogger("console.alerts")


def unsubscribe_url(settings: Settings, subscriber_id: int) -> str:
    token = subscriptions.unsubscribe_token(settings.secret_key._value, subscriber_id)
    return f"{settings.public_url}/unsubscribe?token={token}"


# Outcomes are recorded every IN_FLIGHT_MAX messages (or sooner, after this many seconds) within
# a batch, so a worker killed mid-batch leaves at most that many messages of unknown fate.
CHECKPOINT_MESSAGES = fanout.IN_FLIGHT_MAX
CHECKPOINT_SECONDS = 0.5


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow to renew its lease)."""


class Checkpoint:
    def __init__(self, record: Callable[[list[fanout.Result]], None]) -> None:
        self.record = record
        self.pending: list[fanout.Result] = []
        self.since = time.monotonic()

    def add(self, result: fanout.Result) -> None:
        self.pending.append(result)
        if len(self.pending) >= CHECKPOINT_MESSAGES or time.monotonic() - self.since > CHECKPOINT_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.record(self.pending)
            self.pending = []
        self.since = time.monotonic()


class FanoutRunner:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        env: Environment,
        mailer: email.Mailer,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.env = env
        self.mailer = mailer
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self.step():
                    continue
            except Exception:
                log.exception("fan-out step failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_seconds)

    async def step(self) -> bool:
        """Work one claimable job to its end; False if none was due."""
        return await asyncio.to_thread(self.work_one)

    async def drain(self) -> bool:
        worked = False
        while await self.step():
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
        contents = self._contents(claim.event_id)
        rendered: dict[str, email.MailTemplate] = {}
        try:
            while True:
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
                checkpoint = Checkpoint(lambda results: self._record(claim, results))
                if claim.channel is AlertChannel.EMAIL:
                    self._send_email(claim.event_id, batch, contents, rendered, checkpoint)
                else:
                    self._send_webhooks(claim.event_id, batch, contents, checkpoint)
                checkpoint.flush()
        except LeaseLost:
            log.warning("fan-out job %s was taken over by another worker", claim.job_id)
            return True

    def _record(self, claim: fanout.JobClaim, results: list[fanout.Result]) -> None:
        with self.db.write() as session:
            if not fanout.record_batch(
                session, claim, results, lease_seconds=self.settings.outbox_lease_seconds, now=self.clock()
            ):
                raise LeaseLost()

    def _contents(self, event_id: int) -> dict[str, AlertContent]:
        languages = Languages(self.settings.languages)
        with self.db.read() as session:
            source = AlertSource(session, event_id, languages, self.settings.public_url)
            return {lang: source.content(lang) for lang in languages.tags}

    def _content(self, contents: dict[str, AlertContent], lang: str) -> AlertContent:
        return contents.get(lang) or contents[self.settings.languages[0]]

    def _send_email(
        self,
        event_id: int,
        batch: list[fanout.Recipient],
        contents: dict[str, AlertContent],
        rendered: dict[str, email.MailTemplate],
        checkpoint: Checkpoint,
    ) -> None:
        messages = []
        for recipient in batch:
            content = self._content(contents, recipient.lang)
            if content.requested_lang not in rendered:
                rendered[content.requested_lang] = email.MailTemplate(
                    email.render_alert(self.env, content), mail_from=self.settings.mail_from
                )
            messages.append(
                rendered[content.requested_lang].stamp(
                    to=recipient.address,
                    unsubscribe_url=unsubscribe_url(self.settings, recipient.subscriber_id),
                    message_id=email.message_id(
                        "alert", event_id, recipient.subscriber_id, domain=self.settings.public_host
                    ),
                )
            )
        self.mailer.send(
            messages, lambda index, error: checkpoint.add(fanout.Result(batch[index].delivery_id, error))
        )

    def _send_webhooks(
        self,
        event_id: int,
        batch: list[fanout.Recipient],
        contents: dict[str, AlertContent],
        checkpoint: Checkpoint,
    ) -> None:
        for recipient in batch:
            error, attempts = webhooks.send(
                recipient.address,
                recipient.secret or "",
                webhooks.payload(self._content(contents, recipient.lang)),
                message_id=f"msg_{event_id}_{recipient.subscriber_id}",
                timeout=self.settings.webhook_timeout_seconds,
                allow_private=self.settings.webhook_allow_private,
            )
            checkpoint.add(fanout.Result(recipient.delivery_id, error, attempts))
