"""What a social post of a version says, and which earlier post it replies to.

Both come from the database alone, so a preview, a retry and a post after a restart all
compose the same post. Threading follows the `deliveries` table of the channel:

- an incident's first posted update starts a thread;
- each later update replies to the incident's latest post (the newest sent delivery of an
  earlier event of the incident on this channel);
- a correction, confirmation or retraction replies to the post of the version it supersedes.

When that post was never made (its delivery failed, or was skipped in preview), the post
replies to the nearest earlier one instead: an earlier version of the same update, newest
first, then the incident's latest post; with none, it starts the thread. A correction thus
still reaches the thread where people saw the incident. The social lanes are ordered, so
every earlier delivery has settled by the time a post is composed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from console.domain import rumors, wording
from console.domain.events import RumorPublished, VersionPublished
from console.models import Delivery, DeliveryState, Incident, OutboxEvent, RumorVersion, UpdateVersion
from console.social.network import TextRules


@dataclass(frozen=True)
class PostPlan:
    text: str
    reply_to: str | None


def post_for(version: UpdateVersion, incident: Incident, seq: int, public_url: str, rules: TextRules) -> str:
    """The exact text a social channel posts for `version` (also what a preview shows)."""
    return wording.post_text(
        version.kind,
        version.preliminary,
        version.headline,
        version.body,
        version.reason,
        wording.update_url(public_url, incident.slug, seq),
        alert_status=incident.alert_status,
        measure=rules.measure,
        limit=rules.limit,
    )


def _posted(channel: str) -> ColumnElement[bool]:
    return and_(
        Delivery.channel == channel, Delivery.state == DeliveryState.SENT, Delivery.external_id.is_not(None)
    )


def reply_target(session: Session, channel: str, event: VersionPublished) -> str | None:
    """The external id of the post `event`'s post replies to, or None to start a thread."""
    if event.version > 1:
        earlier_version: str | None = session.scalar(
            select(Delivery.external_id)
            .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
            .join(UpdateVersion, OutboxEvent.version_id == UpdateVersion.id)
            .where(
                _posted(channel),
                UpdateVersion.update_id == event.update_id,
                UpdateVersion.version < event.version,
            )
            .order_by(UpdateVersion.version.desc())
            .limit(1)
        )
        if earlier_version is not None:
            return earlier_version
    latest: str | None = session.scalar(
        select(Delivery.external_id)
        .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
        .where(
            _posted(channel),
            OutboxEvent.incident_id == event.incident_id,
            Delivery.event_id < event.event_id,
        )
        .order_by(Delivery.event_id.desc())
        .limit(1)
    )
    return latest


def plan_post(
    session: Session, channel: str, event: VersionPublished, public_url: str, rules: TextRules
) -> PostPlan:
    version = session.get_one(UpdateVersion, event.version_id)
    incident = session.get_one(Incident, event.incident_id)
    return PostPlan(
        post_for(version, incident, event.seq, public_url, rules), reply_target(session, channel, event)
    )


def plan_rumor_post(session: Session, event: RumorPublished, public_url: str, rules: TextRules) -> PostPlan:
    """A rumor response stands alone (no thread): `RUMOR CONTROL: FALSE — “claim”` first, the
    facts after, cut to fit, and the link to the agency's rumor page."""
    version = session.get_one(RumorVersion, event.rumor_version_id)
    lead = rumors.headline(version.verdict, version.claim)
    verdict_part = lead.split("“", 1)[0]
    link = f"{public_url}/rumors#rumor-{event.rumor_id}"
    text = f"{lead} {' '.join(version.facts.split())}"
    return PostPlan(
        wording.fit(text, link, measure=rules.measure, limit=rules.limit, keep=len(verdict_part)), None
    )
