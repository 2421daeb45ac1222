"""The steps every social channel takes to deliver one post exactly once.

1. Compose the text and the post it replies to (`compose`). Without credentials, stop
   there: the delivery is `skipped` with note `preview: no credentials set` and the exact
   text in `detail`.
2. If an earlier attempt may have posted (its request left and no answer came: a timeout,
   a 5xx, a worker killed mid-send), look for the post on the account and adopt it.
3. Record that a request is about to leave (`social_sends`), send it, and clear the record
   once the answer is known. A timeout after sending is looked up at once; a 403 "duplicate
   content" is looked up too (our own earlier post is adopted, anything else is `failed`).
4. Map the rest: certainly-not-sent and unknown outcomes retry with backoff (a 429 after its
   reset time), a rejected post fails, rejected credentials pause the channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from console.channels.base import ChannelFailing, GiveUp, Outcome, RetryLater, Sent, Skipped
from console.db import Database
from console.domain.events import RumorPublished, VersionPublished
from console.domain.outbox import Claim
from console.models import utcnow
from console.social import compose, sends
from console.social.network import (
    AuthRejected,
    Duplicate,
    Network,
    NotSent,
    Posted,
    Rejected,
    ReplyGone,
    SocialError,
    TextRules,
    Unknown,
)

PREVIEW_NOTE = "preview: no credentials set"
# A post's timestamp comes from the network's clock: look a little before our own.
CLOCK_SLACK = timedelta(minutes=5)


class SocialDelivery:
    def __init__(
        self, db: Database, channel: str, network: Network | None, public_url: str, preview_rules: TextRules
    ) -> None:
        self.db = db
        self.channel = channel
        self.network = network
        self.public_url = public_url
        self.preview_rules = preview_rules

    @property
    def preview(self) -> bool:
        return self.network is None

    def deliver(self, claim: Claim) -> Outcome:
        """Blocking: run it in a worker thread."""
        event = claim.event
        if not isinstance(event, VersionPublished | RumorPublished):
            return Skipped(f"{self.channel} posts published versions and rumor responses only")
        network = self.network
        try:
            rules = network.rules() if network else self.preview_rules
            with self.db.read() as session:
                plan = (
                    compose.plan_post(session, self.channel, event, self.public_url, rules)
                    if isinstance(event, VersionPublished)
                    else compose.plan_rumor_post(session, event, self.public_url, rules)
                )
            if network is None:
                return Skipped(PREVIEW_NOTE, detail=plan.text)
            return self._deliver(network, claim, event, plan)
        except AuthRejected as exc:
            raise ChannelFailing(str(exc)) from exc
        except NotSent as exc:
            raise RetryLater(str(exc), retry_after=exc.retry_after) from exc
        except Unknown as exc:
            raise RetryLater(f"{exc}; it is looked for before anything is sent again") from exc
        except SocialError as exc:
            raise GiveUp(str(exc)) from exc

    def _deliver(
        self, network: Network, claim: Claim, event: VersionPublished | RumorPublished, plan: compose.PostPlan
    ) -> Sent:
        earlier = sends.pending(self.db, claim.delivery_id)
        notes: list[str] = []
        if earlier is not None or claim.interrupted:
            since = (earlier.sent_at if earlier else event.occurred_at) - CLOCK_SLACK
            texts = {plan.text} | ({earlier.text} if earlier else set())
            try:
                found = self._find(network, texts, since)
            except (
                Rejected
            ) as exc:  # e.g. no access to the timeline: the network's own duplicate check remains
                notes.append(f"could not look for an earlier attempt's post ({exc})")
            else:
                if found is not None:
                    sends.clear(self.db, claim.delivery_id)
                    return self._sent(
                        found, plan.text, "found the post an earlier attempt made; not posted again"
                    )
        return self._send(network, claim, plan, notes)

    def _send(self, network: Network, claim: Claim, plan: compose.PostPlan, notes: list[str]) -> Sent:
        sent_at = utcnow()
        sends.mark(self.db, claim.delivery_id, claim.attempt, plan.text, plan.reply_to, sent_at)
        key = f"incident-console-delivery-{claim.delivery_id}"
        try:
            try:
                posted = network.post(plan.text, plan.reply_to, key)
            except ReplyGone as exc:
                notes.append(f"the post it replies to is gone ({exc}); started a new thread")
                posted = network.post(plan.text, None, f"{key}-new-thread")
        except Unknown as exc:
            if exc.check_now:
                found = self._find_quietly(network, plan.text, sent_at - CLOCK_SLACK)
                if found is not None:
                    sends.clear(self.db, claim.delivery_id)
                    return self._sent(found, plan.text, f"{exc}, but the post was made", *notes)
            raise  # the record stays: the next attempt looks before sending
        except Duplicate as exc:
            found = self._find_quietly(network, plan.text, sent_at - CLOCK_SLACK)
            sends.clear(self.db, claim.delivery_id)
            if found is not None:
                return self._sent(
                    found, plan.text, "refused as a duplicate: adopted the identical earlier post"
                )
            raise GiveUp(f"duplicate content: {exc}") from exc
        except SocialError:
            sends.clear(self.db, claim.delivery_id)
            raise
        sends.clear(self.db, claim.delivery_id)
        return self._sent(posted, plan.text, *notes)

    @staticmethod
    def _find(network: Network, texts: set[str], since: datetime) -> Posted | None:
        for text in sorted(texts):
            found = network.find(text, since)
            if found is not None:
                return found
        return None

    @staticmethod
    def _find_quietly(network: Network, text: str, since: datetime) -> Posted | None:
        """A lookup right after a failed send: any trouble just means "not found yet"."""
        try:
            return network.find(text, since)
        except AuthRejected:
            raise
        except SocialError:
            return None

    @staticmethod
    def _sent(posted: Posted, text: str, *notes: str) -> Sent:
        note = "; ".join(notes)[:200] or None
        return Sent(external_id=posted.id, external_url=posted.url, detail=text, note=note)
