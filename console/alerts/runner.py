"""The fan-out runner: works the fan-out jobs the `subscribers` channel creates, one batch
at a time (see `console.domain.fanout`), in the worker process beside the dispatcher.

Each job's messages are rendered once per language; per recipient only the address and the
unsubscribe link change. Nothing here runs inside a publishing transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow to renew its lease)."""


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
            # asyncio.timeout, not wait_for: see Dispatcher._lane.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.outbox_poll_seconds):
                    await self._wake.wait()

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
        # Email goes out over SMTP_CONNECTIONS connections at once; webhooks one at a time.
        lanes = self.settings.smtp_connections if claim.channel is AlertChannel.EMAIL else 1
        try:
            with ThreadPoolExecutor(lanes, thread_name_prefix="fanout") as pool:
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
                    chunks = [
                        batch[i : i + fanout.IN_FLIGHT_MAX]
                        for i in range(0, len(batch), fanout.IN_FLIGHT_MAX)
                    ]
                    for done in [
                        pool.submit(self._chunk, claim, chunk, contents, rendered) for chunk in chunks
                    ]:
                        done.result()
        except LeaseLost:
            log.warning("fan-out job %s was taken over by another worker", claim.job_id)
            return True
        finally:
            self.mailer.close()

    def _chunk(
        self,
        claim: fanout.JobClaim,
        chunk: list[fanout.Recipient],
        contents: dict[str, AlertContent],
        rendered: dict[str, email.MailTemplate],
    ) -> None:
        """Mark up to IN_FLIGHT_MAX rows `sending`, send them, record how each went."""
        lease = self.settings.outbox_lease_seconds
        with self.db.write() as session:
            if not fanout.mark_sending(
                session, claim, [r.delivery_id for r in chunk], lease_seconds=lease, now=self.clock()
            ):
                raise LeaseLost()
        if claim.channel is AlertChannel.EMAIL:
            results = self._send_email(claim.event_id, chunk, contents, rendered)
        else:
            results = self._send_webhooks(claim.event_id, chunk, contents)
        with self.db.write() as session:
            if not fanout.record_batch(session, claim, results, lease_seconds=lease, now=self.clock()):
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
    ) -> list[fanout.Result]:
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
        results: list[fanout.Result] = []
        self.mailer.send(
            messages, lambda index, error: results.append(fanout.Result(batch[index].delivery_id, error))
        )
        return results

    def _send_webhooks(
        self,
        event_id: int,
        batch: list[fanout.Recipient],
        contents: dict[str, AlertContent],
    ) -> list[fanout.Result]:
        results = []
        for recipient in batch:
            error, attempts = webhooks.send(
                recipient.address,
                recipient.secret or "",
                webhooks.payload(self._content(contents, recipient.lang)),
                message_id=f"msg_{event_id}_{recipient.subscriber_id}",
                timeout=self.settings.webhook_timeout_seconds,
                allow_private=self.settings.webhook_allow_private,
            )
            results.append(fanout.Result(recipient.delivery_id, error, attempts))
        return results
