"""What a version's social posts say, and which earlier post the first of them replies to.

Both come from the database alone, so a preview, a retry and a post after a restart all
compose the same posts. A text over the network's limit is a numbered run of posts
(`console.domain.post_runs`), each replying to the one before. Threading follows the
`deliveries` table of the channel (and `social_posts` for the posts of each run):

- an incident's first posted update starts a thread;
- each later update replies to the incident's latest post (the last post of the newest sent
  delivery of an earlier event of the incident on this channel);
- a correction, confirmation or retraction replies to the post of the version it supersedes
  (the first post of its run: the one that carries its labels);
- a rumor response starts a thread of its own (never in an incident's); its correction, labelled
  `CORRECTION:`, replies to the post of the newest earlier version posted on the channel (the
  first post of its run, as for an update), and starts a thread when none was posted.

When that post was never made (its delivery failed, or was skipped in preview), the post
replies to the nearest earlier one instead: an earlier version of the same update, newest
first, then the incident's latest post; with none, it starts the thread. A correction thus
still reaches the thread where people saw the incident. The social lanes are ordered, so
every earlier delivery has settled by the time a post is composed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from console.domain import post_runs, rumors, updates, wording
from console.domain.events import RumorPublished, VersionPublished
from console.domain.post_runs import TextRules
from console.media import store
from console.models import (
    Delivery,
    DeliveryState,
    Incident,
    OutboxEvent,
    RumorVersion,
    SocialPost,
    UpdateVersion,
    VersionKind,
)
from console.social.network import Attachment

# `Delivery.detail` of a run: its posts' texts, in order (a post never has a line break).
POST_SEPARATOR = "\n\n"


def posts_for(
    version: UpdateVersion,
    incident: Incident,
    seq: int,
    public_url: str,
    rules: TextRules,
    *,
    first_kind: VersionKind,
) -> list[str]:
    """The exact texts a social channel posts for `version` (also what a preview shows);
    `first_kind` is its update's first version's (`updates.first_kind`)."""
    return wording.post_run(
        version.kind,
        version.preliminary,
        version.headline,
        version.body,
        version.reason,
        wording.update_url(public_url, incident.slug, seq),
        alert_status=incident.alert_status,
        first_kind=first_kind,
        rules=rules,
    )


def attachments(session: Session, event: VersionPublished | RumorPublished) -> tuple[Attachment, ...]:
    """The images the first post of a version carries (issue 18): an original's or a
    correction's; a confirmation or retraction repeats no image."""
    if isinstance(event, RumorPublished):
        return ()
    version = session.get_one(UpdateVersion, event.version_id)
    if version.kind not in (VersionKind.ORIGINAL, VersionKind.CORRECTION):
        return ()
    return tuple(
        Attachment(
            store.file_name(item.media.sha256, item.media.extension), item.media.content_type, item.alt
        )
        for item in version.media
    )


def posts(
    session: Session, event: VersionPublished | RumorPublished, public_url: str, rules: TextRules
) -> list[str]:
    if isinstance(event, RumorPublished):
        return rumor_posts(session, event, public_url, rules)
    version = session.get_one(UpdateVersion, event.version_id)
    incident = session.get_one(Incident, event.incident_id)
    return posts_for(
        version,
        incident,
        event.seq,
        public_url,
        rules,
        first_kind=updates.first_kind(session, version.update_id),
    )


def rumor_posts(session: Session, event: RumorPublished, public_url: str, rules: TextRules) -> list[str]:
    """A rumor response (issue 19): `RUMOR CONTROL: FALSE — ` opens the first post, then the
    claim in quotation marks and the facts, the link to the agency's rumor page closes the last.
    A correction (or a drill's) is labelled as an update's is, first: `CORRECTION: RUMOR CONTROL: …`,
    and ends with its reason.
    Not in an incident's thread (see `reply_target`)."""
    version = session.get_one(RumorVersion, event.rumor_version_id)
    marks = wording.opening(rumors.labels(version.kind, rumors.alert_status_of(version.rumor)))
    label = marks + rumors.headline(version.verdict, version.claim).split("“", 1)[0]
    text = f"“{version.claim}” {version.facts}{wording.why(version.reason)}"
    return post_runs.split(label, text, f"{public_url}/rumors#rumor-{event.rumor_id}", rules)


def _posted(channel: str, *columns: InstrumentedAttribute[Any]) -> Select[Any]:
    """`columns` of the deliveries `channel` posted (sent, with the post's id), with their events."""
    return (
        select(*columns)
        .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
        .where(
            Delivery.channel == channel,
            Delivery.state == DeliveryState.SENT,
            Delivery.external_id.is_not(None),
        )
    )


def reply_target(session: Session, channel: str, event: VersionPublished | RumorPublished) -> str | None:
    """The external id of the post `event`'s first post replies to, or None to start a thread."""
    if isinstance(event, RumorPublished):
        # An original starts a thread of its own, never in an incident's; with no earlier
        # version posted, its correction starts one too.
        return _earlier_version_post(
            session,
            channel,
            OutboxEvent.rumor_version_id,
            RumorVersion.rumor_id,
            event.rumor_id,
            event.version,
        )
    earlier_version = _earlier_version_post(
        session, channel, OutboxEvent.version_id, UpdateVersion.update_id, event.update_id, event.version
    )
    if earlier_version is not None:
        return earlier_version
    latest = session.execute(
        _posted(channel, Delivery.id, Delivery.external_id)
        .where(OutboxEvent.incident_id == event.incident_id, Delivery.event_id < event.event_id)
        .order_by(Delivery.event_id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    last_of_run: str | None = session.scalar(
        select(SocialPost.external_id)
        .where(SocialPost.delivery_id == latest.id, SocialPost.external_id.is_not(None))
        .order_by(SocialPost.position.desc())
        .limit(1)
    )
    return last_of_run or latest.external_id


def _earlier_version_post(
    session: Session,
    channel: str,
    event_version: InstrumentedAttribute[int | None],
    owner: InstrumentedAttribute[int],
    owner_id: int,
    version: int,
) -> str | None:
    """The post of the newest earlier version of the same update or rumor response (`owner`)
    posted on `channel`: the first of its run, the one carrying the labels it corrects."""
    if version <= 1:
        return None
    versions = owner.class_
    found: str | None = session.scalar(
        _posted(channel, Delivery.external_id)
        .join(versions, event_version == versions.id)
        .where(owner == owner_id, versions.version < version)
        .order_by(versions.version.desc())
        .limit(1)
    )
    return found
