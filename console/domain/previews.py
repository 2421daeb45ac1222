"""What a draft will look like on each channel, before it is published.

Built from the same functions the channels use (`wording.post_text`, `wording.entry_title`,
`timeline.card`), so a preview cannot disagree with what is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from console.domain import timeline, wording
from console.domain.text import BODY_MAX, HEADLINE_MAX, REASON_MAX, clean
from console.domain.timeline import UpdateCard
from console.models import AlertStatus, UpdateVersion, VersionKind


@dataclass(frozen=True)
class PostPreview:
    text: str
    weight: int  # twitter-text weighted length: URLs 23, CJK and emoji 2
    limit: int
    shortened: bool  # the text was cut (with "…") to fit; the full text is on the live page


@dataclass(frozen=True)
class ChannelPreview:
    post: PostPreview
    entry_title: str
    card: UpdateCard
    link: str  # where the post and the feed entry point
    history_link: str  # the card's "What changed" link


@dataclass(frozen=True)
class DraftText:
    """What the PIO typed, as typed (the services strip and check it when publishing)."""

    headline: str = ""
    body: str = ""
    preliminary: bool = True
    reason: str = ""

    @property
    def headline_or_none(self) -> str | None:
        return self.headline.strip() or None


def check(draft: DraftText, *, reason_required: bool) -> dict[str, str]:
    """The problems the services would refuse the draft for, by field, with the same limits."""
    errors: dict[str, str] = {}
    clean(draft.headline, max_chars=HEADLINE_MAX, required=False, errors=errors, field="headline")
    clean(draft.body, max_chars=BODY_MAX, required=True, errors=errors, field="body")
    if reason_required or draft.reason.strip():
        clean(draft.reason, max_chars=REASON_MAX, required=reason_required, errors=errors, field="reason")
    return errors


def preview(
    draft: DraftText,
    *,
    kind: VersionKind,
    incident_slug: str,
    alert_status: AlertStatus,
    public_url: str,
    seq: int,
    now: datetime,
    update_id: int = 0,
    earlier: Sequence[UpdateVersion] = (),
    author_name: str = "",
) -> ChannelPreview:
    """The post, feed title and live-page card `draft` would produce as version `kind`.

    `earlier` are the update's published versions (oldest first); empty for a new update,
    whose `seq` is the one it would get if published now.
    """
    headline, body = draft.headline_or_none, draft.body.strip()
    reason = draft.reason.strip() or None
    link = wording.update_url(public_url, incident_slug, seq)
    draft_version = UpdateVersion(
        update_id=update_id,
        version=earlier[-1].version + 1 if earlier else 1,
        kind=kind,
        headline=headline,
        body=body,
        preliminary=draft.preliminary,
        reason=reason,
        author_name=author_name,
        published_at=now,
        content_hash="",
    )
    return ChannelPreview(
        post=post_preview(kind, draft.preliminary, headline, body, reason, link, alert_status),
        entry_title=wording.entry_title(kind, draft.preliminary, headline, body, alert_status),
        card=timeline.card(incident_slug, alert_status, update_id, seq, [*earlier, draft_version]),
        link=link,
        history_link=wording.history_url(public_url, incident_slug, seq),
    )


def _unmeasured(text: str) -> int:
    return 0


@functools.lru_cache(maxsize=256)
def post_preview(
    kind: VersionKind,
    preliminary: bool,
    headline: str | None,
    body: str,
    reason: str | None,
    link: str,
    alert_status: AlertStatus,
) -> PostPreview:
    """The post `wording.post_text` makes, measured. Cached: twitter-text takes seconds on long
    runs of CJK text, and the same draft is previewed, reviewed and published in turn."""
    text = wording.post_text(kind, preliminary, headline, body, reason, link, alert_status=alert_status)
    # The same composition never cut (nothing measures over 0): differs only if the post was shortened.
    whole = wording.post_text(
        kind, preliminary, headline, body, reason, link, alert_status=alert_status, measure=_unmeasured
    )
    return PostPreview(text, wording.x_weight(text), wording.X_LIMIT, text != whole)
