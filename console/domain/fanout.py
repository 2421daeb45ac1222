"""Fan-out jobs: one per (event, alert channel), walking confirmed subscribers in batches.

Publishing only writes the outbox delivery of the `subscribers` channel; its adapter creates
the jobs (`start_jobs`), and the fan-out runner works them outside any publishing
transaction. Each batch is reserved in one transaction: a `queued` `alert_deliveries` row per
subscriber (unique on event and subscriber) and the cursor moved past them. It is sent in
chunks of at most `IN_FLIGHT_MAX`, one chunk per connection at a time: the chunk's rows are
marked `sending` before it goes and get their outcome after. When a worker dies, the next
claim of the job marks its `sending` rows `unknown` (they may have gone out: never sent
again) and sends its `queued` ones. At most one message per (event, subscriber), ever, and at
most `IN_FLIGHT_MAX` per connection of unknown fate per crash.

A subscriber who gave a location (issue 17) and whom the incident's area does not concern is
not a recipient: not in the job's total, no `alert_deliveries` row; the cursor moves past them
(`console.domain.subscriber_location`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from console.alert_models import (
    AlertChannel,
    AlertDelivery,
    AlertState,
    FanoutJob,
    FanoutState,
    Subscriber,
    SubscriberStatus,
)
from console.domain import subscriptions
from console.domain.subscriber_location import AreaRule, area_at
from console.models import OutboxEvent

MAX_ERROR_CHARS = 500
# The most messages one connection sends before their outcomes are recorded.
IN_FLIGHT_MAX = 20


def _audience(channel: AlertChannel, incident_id: int | None):  # type: ignore[no-untyped-def]
    """Confirmed subscribers of `channel` who follow every incident or this one."""
    return (
        (Subscriber.channel == channel)
        & (Subscriber.status == SubscriberStatus.CONFIRMED)
        & or_(Subscriber.incident_id.is_(None), Subscriber.incident_id == incident_id)
    )


def _area_rule(session: Session, event: OutboxEvent) -> AreaRule:
    """Who the event's incident concerns, by its area when the event happened (issue 17)."""
    return AreaRule(area_at(session, event.incident_id, event.occurred_at))


def start_jobs(
    session: Session, event_id: int, channels: Sequence[AlertChannel], *, now: datetime
) -> list[FanoutJob]:
    """The jobs of an event, created once (a second call, after a crash, finds them)."""
    event = session.get_one(OutboxEvent, event_id)
    rule = _area_rule(session, event)
    jobs = []
    for channel in channels:
        job = session.scalar(
            select(FanoutJob).where(FanoutJob.event_id == event_id, FanoutJob.channel == channel)
        )
        if job is None:
            # Subscribers out of the incident's area are not recipients: not counted, no row.
            total = rule.count(session, _audience(channel, event.incident_id))
            job = FanoutJob(
                event_id=event_id,
                channel=channel,
                state=FanoutState.RUNNING,
                cursor=0,
                total=total or 0,
                sent=0,
                failed=0,
                unknown=0,
                created_at=now,
                updated_at=now,
            )
            session.add(job)
            session.flush()
        jobs.append(job)
    return jobs


@dataclass(frozen=True)
class JobClaim:
    job_id: int
    event_id: int
    channel: AlertChannel
    claim_token: str
    interrupted: int  # messages a dead worker may have sent without recording it, now `unknown`


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    subscriber_id: int
    address: str
    lang: str
    secret: str | None
    push_keys: str | None = None  # Web Push: the browser's keys (JSON)


@dataclass(frozen=True)
class Result:
    delivery_id: int
    error: str | None  # None: sent
    attempts: int = 1
    gone: bool = False  # the address no longer exists (push 404/410, SMS 21610): unsubscribe


def claim_job(session: Session, *, lease_seconds: float, now: datetime) -> JobClaim | None:
    job = session.scalars(
        select(FanoutJob)
        .where(
            FanoutJob.state == FanoutState.RUNNING,
            or_(FanoutJob.claim_token.is_(None), FanoutJob.lease_expires_at < now),
        )
        .order_by(FanoutJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return None
    interrupted = 0
    if job.claim_token is not None:  # its worker died: what it was sending may have gone out
        left = (AlertDelivery.job_id == job.id) & (AlertDelivery.state == AlertState.SENDING)
        interrupted = session.scalar(select(func.count()).select_from(AlertDelivery).where(left)) or 0
        session.execute(
            update(AlertDelivery)
            .where(left)
            .values(state=AlertState.UNKNOWN, error="the worker stopped as it was sending; not sent again")
        )
        job.unknown += interrupted
    job.claim_token = secrets.token_hex(16)
    job.lease_expires_at = now + timedelta(seconds=lease_seconds)
    job.updated_at = now
    return JobClaim(job.id, job.event_id, job.channel, job.claim_token, interrupted)


def _held(session: Session, claim: JobClaim) -> FanoutJob | None:
    job = session.get(FanoutJob, claim.job_id, with_for_update=True)
    return job if job is not None and job.claim_token == claim.claim_token else None


def _renewed(session: Session, claim: JobClaim, lease_seconds: float, now: datetime) -> FanoutJob | None:
    """The job `claim` still holds, its lease renewed (the worker is alive); None if it was lost."""
    job = _held(session, claim)
    if job is not None:
        job.lease_expires_at = now + timedelta(seconds=lease_seconds)
    return job


def reserve_batch(
    session: Session, claim: JobClaim, *, size: int, lease_seconds: float, now: datetime
) -> list[Recipient] | None:
    """The next batch, reserved; [] when the job is done; None if the claim was lost."""
    job = _renewed(session, claim, lease_seconds, now)
    if job is None:
        return None
    leftover = session.execute(
        select(AlertDelivery, Subscriber)
        .join(Subscriber, Subscriber.id == AlertDelivery.subscriber_id)
        .where(AlertDelivery.job_id == job.id, AlertDelivery.state == AlertState.QUEUED)
        .order_by(AlertDelivery.id)
        .limit(size)
    ).all()
    if leftover:  # a dead worker's batch, after its possibly sent rows were set aside
        return [_recipient(row, subscriber) for row, subscriber in leftover]
    event = session.get_one(OutboxEvent, job.event_id)
    rule = _area_rule(session, event)
    subscribers: list[Subscriber] = []
    while not subscribers:
        walked = session.scalars(
            select(Subscriber)
            .where(_audience(job.channel, event.incident_id), rule.condition(), Subscriber.id > job.cursor)
            .order_by(Subscriber.id)
            .limit(size)
        ).all()
        if not walked:
            break
        # Out of the area: skipped (no delivery row), and the cursor moves past them too.
        subscribers = [subscriber for subscriber in walked if rule.admits(subscriber)]
        job.cursor = walked[-1].id
    if not subscribers:
        job.state = FanoutState.DONE
        job.claim_token = None
        job.lease_expires_at = None
        job.completed_at = job.updated_at = now
        return []
    rows = [
        AlertDelivery(
            event_id=job.event_id,
            subscriber_id=subscriber.id,
            job_id=job.id,
            state=AlertState.QUEUED,
            attempts=0,
            created_at=now,
        )
        for subscriber in subscribers
    ]
    session.add_all(rows)
    job.updated_at = now
    session.flush()
    return [_recipient(row, subscriber) for row, subscriber in zip(rows, subscribers, strict=True)]


def _recipient(row: AlertDelivery, subscriber: Subscriber) -> Recipient:
    return Recipient(
        row.id,
        subscriber.id,
        subscriber.address or "",
        subscriber.lang,
        subscriber.secret,
        subscriber.push_keys,
    )


def mark_sending(
    session: Session, claim: JobClaim, delivery_ids: Sequence[int], *, lease_seconds: float, now: datetime
) -> bool:
    """Say these rows are about to go out (and renew the lease); False if the claim was lost."""
    if _renewed(session, claim, lease_seconds, now) is None:
        return False
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id.in_(delivery_ids), AlertDelivery.state == AlertState.QUEUED)
        .values(state=AlertState.SENDING)
    )
    return True


def record_batch(
    session: Session, claim: JobClaim, results: Sequence[Result], *, lease_seconds: float, now: datetime
) -> bool:
    """Record sent or failed messages, and renew the lease: the worker is alive."""
    job = _renewed(session, claim, lease_seconds, now)
    if job is None:
        return False
    sent: dict[int, list[int]] = {}  # by attempts: one statement for all that went out alike
    for result in results:
        if result.error is None:
            sent.setdefault(result.attempts, []).append(result.delivery_id)
    for attempts, ids in sent.items():
        session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id.in_(ids), AlertDelivery.state == AlertState.SENDING)
            .values(state=AlertState.SENT, attempts=attempts, sent_at=now)
        )
    for result in results:
        if result.error is not None:
            session.execute(
                update(AlertDelivery)
                .where(AlertDelivery.id == result.delivery_id, AlertDelivery.state == AlertState.SENDING)
                .values(
                    state=AlertState.FAILED, attempts=result.attempts, error=result.error[:MAX_ERROR_CHARS]
                )
            )
    gone = [result.delivery_id for result in results if result.gone]
    if gone:
        gone_subscribers = session.scalars(
            select(AlertDelivery.subscriber_id).where(AlertDelivery.id.in_(gone))
        )
        subscriptions.unsubscribe_gone(session, list(gone_subscribers), now=now)
    job.sent += sum(1 for result in results if result.error is None)
    job.failed += sum(1 for result in results if result.error is not None)
    job.updated_at = now
    return True


def release(session: Session, claim: JobClaim) -> None:
    """Give the job back (the worker is stopping cleanly) so another can take it at once."""
    job = _held(session, claim)
    if job is not None:
        job.claim_token = None
        job.lease_expires_at = None


CHANNEL_NAMES = {
    AlertChannel.EMAIL: "Email",
    AlertChannel.WEBHOOK: "Webhooks",
    AlertChannel.SMS: "SMS",
    AlertChannel.PUSH: "Web Push",
}


@dataclass(frozen=True)
class Progress:
    channel: AlertChannel
    total: int
    sent: int
    failed: int
    unknown: int
    done: bool

    @property
    def line(self) -> str:
        """E.g. "Email 41,200 of 100,000 sent, 3 failed"."""
        text = f"{CHANNEL_NAMES[self.channel]} {self.sent:,} of {self.total:,} sent, {self.failed:,} failed"
        if self.unknown:
            text += f", {self.unknown:,} unknown (worker stopped mid-batch; not sent again)"
        return text + (" (done)" if self.done else "")


def progress(session: Session, event_ids: Sequence[int]) -> dict[int, list[Progress]]:
    """Per event, each alert channel's progress."""
    found: dict[int, list[Progress]] = {}
    if not event_ids:
        return found
    for job in session.scalars(
        select(FanoutJob).where(FanoutJob.event_id.in_(event_ids)).order_by(FanoutJob.event_id, FanoutJob.id)
    ):
        found.setdefault(job.event_id, []).append(
            Progress(job.channel, job.total, job.sent, job.failed, job.unknown, job.state is FanoutState.DONE)
        )
    return found


def deliveries_of(session: Session, subscriber_id: int, *, limit: int = 50) -> list[AlertDelivery]:
    """The delivery log of one webhook endpoint (or subscriber), newest first."""
    return list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.subscriber_id == subscriber_id)
            .order_by(AlertDelivery.id.desc())
            .limit(limit)
        )
    )
