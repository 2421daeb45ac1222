"""The steps every social channel takes to deliver a version's posts exactly once.

1. Compose the posts (one, or a numbered run when the text is over the network's limit) and
   the post the first replies to (`compose`). Without credentials, stop there: the delivery
   is `skipped` with note `preview: no credentials set` and the exact texts in `detail`.
2. At the first attempt, fix the run's texts (`social_posts`); every later attempt sends
   those, skipping the posts already made, each post replying to the one before.
3. Before a post: if an earlier attempt may have made it (its request left and no answer
   came: a timeout, a 5xx, a worker killed mid-send), look for it on the account and adopt it.
4. Record that a request is about to leave (`social_sends`), send it, and record the post's
   id as the record is cleared, once the answer is known. A timeout after sending is looked
   up at once; a 403 "duplicate content" is looked up too (our own earlier post is adopted,
   anything else is `failed`).
   A run holding a post still over the limit (one grapheme cluster heavier than a post) is
   not sent at all: `failed`, saying which post and why.
5. Map the rest: certainly-not-sent and unknown outcomes retry with backoff (a 429 after its
   reset time), a rejected post fails, rejected credentials pause the channel. Whatever the
   failure, the posts already made stay made: the next attempt goes on from the first
   missing one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from console.channels.base import ChannelFailing, GiveUp, Outcome, RetryLater, Sent, Skipped
from console.db import Database
from console.domain.events import RumorPublished, VersionPublished
from console.domain.outbox import Claim
from console.domain.post_runs import TextRules
from console.models import utcnow
from console.social import compose, runs, sends
from console.social.network import (
    Attachment,
    AuthRejected,
    Duplicate,
    Network,
    NotSent,
    Posted,
    Rejected,
    ReplyGone,
    SocialError,
    Unknown,
)
from console.social.runs import RunPost

PREVIEW_NOTE = "preview: no credentials set"
# A post's timestamp comes from the network's clock: look a little before our own.
CLOCK_SLACK = timedelta(minutes=5)
# An attempt starts no new post of a run after this long, and the next attempt goes on: the
# post under way (a look, a send, a re-send to a new thread, each at most 30 s) then still
# ends within the channel's 120 s, so no attempt ever overlaps the next.
RUN_BUDGET_SECONDS = 30.0


class SocialDelivery:
    def __init__(
        self,
        db: Database,
        channel: str,
        network: Network | None,
        public_url: str,
        default_rules: TextRules,
        *,
        budget_seconds: float = RUN_BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.channel = channel
        self.network = network
        self.public_url = public_url
        self.default_rules = default_rules  # without credentials, or while the network cannot say
        self.budget_seconds = budget_seconds
        self.clock = clock

    @property
    def preview(self) -> bool:
        return self.network is None

    def rules_for_preview(self) -> TextRules:
        """How the console's preview measures posts: as the network itself does (Mastodon: the
        instance's own limit), else by the defaults. Blocking (it may ask the network)."""
        if self.network is None:
            return self.default_rules
        try:
            return self.network.rules()
        except SocialError:
            return self.default_rules

    def deliver(self, claim: Claim) -> Outcome:
        """Blocking: run it in a worker thread."""
        event = claim.event
        if not isinstance(event, VersionPublished | RumorPublished):
            return Skipped(f"{self.channel} posts published versions and rumor responses only")
        network = self.network
        try:
            if network is None:
                with self.db.read() as session:
                    texts = compose.posts(session, event, self.public_url, self.default_rules)
                return Skipped(PREVIEW_NOTE, detail=compose.POST_SEPARATOR.join(texts))
            return self._deliver(network, claim, event)
        except AuthRejected as exc:
            raise ChannelFailing(str(exc)) from exc
        except NotSent as exc:
            raise RetryLater(str(exc), retry_after=exc.retry_after) from exc
        except Unknown as exc:
            raise RetryLater(f"{exc}; it is looked for before anything is sent again") from exc
        except SocialError as exc:
            raise GiveUp(str(exc)) from exc

    def _deliver(self, network: Network, claim: Claim, event: VersionPublished | RumorPublished) -> Sent:
        started = self.clock()
        run = runs.load(self.db, claim.delivery_id)
        rules = None if run else network.rules()  # may ask the network: not inside a transaction
        with self.db.read() as session:
            texts = compose.posts(session, event, self.public_url, rules) if rules else None
            reply_to = compose.reply_target(session, self.channel, event)
            images = compose.attachments(session, event)
        if texts is not None:
            run = runs.start(self.db, claim.delivery_id, texts)
        if all(post.posted is None for post in run):
            self._refuse_over(network, run)
        notes: list[str] = []
        made: list[Posted] = []
        made_now = 0
        look = claim.interrupted  # the first missing post may have been made unseen
        for post in run:
            if post.posted is None:
                if made_now and self.clock() - started > self.budget_seconds:
                    raise RetryLater(
                        f"made {len(made)} of the run's {len(run)} posts; the next attempt goes on",
                        retry_after=0.0,
                    )
                attached = images if post.position == 1 else ()
                posted = self._one(network, claim, event, post, reply_to, len(run), look, notes, attached)
                look, made_now = False, made_now + 1
            else:
                posted = post.posted
            made.append(posted)
            reply_to = posted.id
        note = "; ".join(notes)[:200] or None
        return Sent(
            external_id=made[0].id,
            external_url=made[0].url,
            detail=compose.POST_SEPARATOR.join(post.text for post in run),
            note=note,
        )

    @staticmethod
    def _refuse_over(network: Network, run: list[RunPost]) -> None:
        """A post over the limit holds one grapheme cluster heavier than a post, which cannot be
        split without breaking it: the network would refuse it, leaving a broken thread. Send
        none of the run; the person who sees why can shorten that part and correct the update."""
        rules = network.rules()
        for post in run:
            weight = rules.measure(post.text)
            if weight > rules.limit:
                which = f"post {post.position}/{len(run)}" if len(run) > 1 else "the post"
                raise GiveUp(
                    f"{which} is over {network.label}'s limit ({weight} of {rules.limit}): it holds one "
                    "character sequence (grapheme cluster) too long to split; nothing was posted"
                )

    def _one(
        self,
        network: Network,
        claim: Claim,
        event: VersionPublished | RumorPublished,
        post: RunPost,
        reply_to: str | None,
        total: int,
        look: bool,
        notes: list[str],
        images: Sequence[Attachment] = (),
    ) -> Posted:
        """Make one post of the run (or adopt it where an earlier attempt made it)."""
        which = f"post {post.position}/{total}: " if total > 1 else ""
        earlier = sends.pending(self.db, claim.delivery_id)
        if earlier is not None or look:
            since = (earlier.sent_at if earlier else event.occurred_at) - CLOCK_SLACK
            texts = {post.text} | ({earlier.text} if earlier else set())
            try:
                found = self._find(network, texts, since)
            except (
                Rejected
            ) as exc:  # e.g. no access to the timeline: the network's own duplicate check remains
                notes.append(f"{which}could not look for an earlier attempt's post ({exc})")
            else:
                if found is not None:
                    runs.record(self.db, claim.delivery_id, post.position, found)
                    notes.append(f"{which}found the post an earlier attempt made; not posted again")
                    return found
        return self._send(network, claim, post, reply_to, which, notes, images)

    def _send(
        self,
        network: Network,
        claim: Claim,
        post: RunPost,
        reply_to: str | None,
        which: str,
        notes: list[str],
        images: Sequence[Attachment] = (),
    ) -> Posted:
        sent_at = utcnow()
        sends.mark(self.db, claim.delivery_id, claim.attempt, post.text, reply_to, sent_at)
        # Mastodon keeps the post an Idempotency-Key made; each post of a run has its own.
        key = f"incident-console-delivery-{claim.delivery_id}"
        if post.position > 1:
            key = f"{key}-{post.position}"
        try:
            try:
                posted = network.post(post.text, reply_to, key, images)
            except ReplyGone as exc:
                notes.append(f"{which}the post it replies to is gone ({exc}); started a new thread")
                posted = network.post(post.text, None, f"{key}-new-thread", images)
        except Unknown as exc:
            if exc.check_now:
                found = self._find_quietly(network, post.text, sent_at - CLOCK_SLACK)
                if found is not None:
                    runs.record(self.db, claim.delivery_id, post.position, found)
                    notes.append(f"{which}{exc}, but the post was made")
                    return found
            raise  # the record stays: the next attempt looks before sending
        except Duplicate as exc:
            found = self._find_quietly(network, post.text, sent_at - CLOCK_SLACK)
            if found is not None:
                runs.record(self.db, claim.delivery_id, post.position, found)
                notes.append(f"{which}refused as a duplicate: adopted the identical earlier post")
                return found
            sends.clear(self.db, claim.delivery_id)
            raise GiveUp(f"{which}duplicate content: {exc}") from exc
        except SocialError:
            sends.clear(self.db, claim.delivery_id)
            raise
        runs.record(self.db, claim.delivery_id, post.position, posted)
        return posted

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
