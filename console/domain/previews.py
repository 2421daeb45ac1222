"""What a draft will look like on each channel, before it is published.

Built from the same functions the channels use (`wording.post_run`, `wording.entry_title`,
`timeline.card`), so a preview cannot disagree with what is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from console.domain import post_runs, sms_text, timeline, wording
from console.domain.alerting import NOTHING, Alerting, stored_alerting
from console.domain.post_runs import TextRules
from console.domain.text import BODY_MAX, HEADLINE_MAX, REASON_MAX, clean
from console.domain.timeline import UpdateCard
from console.models import AlertStatus, UpdateVersion, VersionKind

# The social networks a preview shows, by channel name, and what the console calls them.
NETWORKS = {"x": "X", "mastodon": "Mastodon"}
DEFAULT_RULES: Mapping[str, TextRules] = MappingProxyType(
    {"x": wording.X_RULES, "mastodon": wording.MASTODON_DEFAULT_RULES}
)


@dataclass(frozen=True)
class PostPreview:
    text: str
    weight: int  # by the network's count (X: twitter-text's weighted length)
    over: bool  # still over the limit: one grapheme cluster heavier than a post (not posted)


@dataclass(frozen=True)
class RunPreview:
    """The posts of one network for a draft: one post, or the numbered run."""

    channel: str  # "x", "mastodon"
    network: str  # "X", "Mastodon"
    limit: int
    posts: tuple[PostPreview, ...]

    @property
    def over(self) -> bool:
        return any(post.over for post in self.posts)


@dataclass(frozen=True)
class SmsPreview:
    """The SMS messages of the alert (in English), each one segment."""

    messages: tuple[str, ...]

    @property
    def encoding(self) -> str:
        return (
            "UCS-2" if any(sms_text.segments(text).encoding == "UCS-2" for text in self.messages) else "GSM-7"
        )


@dataclass(frozen=True)
class ChannelPreview:
    runs: tuple[RunPreview, ...]  # X, then Mastodon
    sms: SmsPreview
    entry_title: str
    card: UpdateCard
    link: str  # where the post and the feed entry point (an alert's link: `stable_update_url`)
    history_page: str  # the incident's history, where the card's "What changed" lands


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
    post_rules: Mapping[str, TextRules] = DEFAULT_RULES,
    incident_title: str = "",
    alerting: Alerting = NOTHING,
) -> ChannelPreview:
    """The post, feed title, SMS alert and live-page card `draft` would produce as version `kind`.

    `earlier` are the update's published versions (oldest first); empty for a new update,
    whose `seq` is the one it would get if published now. `post_rules`: how each social
    network counts and its limit (Mastodon's is the instance's own once known). `alerting`:
    the "Alert details" sent with the draft; over the current version's, as publishing keeps
    them, they give the SMS its "What to do".
    """
    headline, body = draft.headline_or_none, draft.body.strip()
    reason = draft.reason.strip() or None
    link = wording.update_url(public_url, incident_slug, seq)
    first_kind = earlier[0].kind if earlier else kind
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
        runs=tuple(
            run_preview(
                channel,
                kind,
                first_kind,
                draft.preliminary,
                headline,
                body,
                reason,
                link,
                alert_status,
                post_rules[channel],
            )
            for channel in NETWORKS
        ),
        sms=SmsPreview(
            tuple(
                sms_text.alert_messages(
                    labels=wording.labels(kind, draft.preliminary, alert_status, first_kind=first_kind),
                    title=incident_title,
                    headline=headline,
                    body=body,
                    kind=kind,
                    reason=reason,
                    translation_pending=False,
                    link=wording.stable_update_url(public_url, incident_slug, seq),
                    instruction=in_force(alerting, earlier).instruction,
                )
            )
        ),
        entry_title=wording.entry_title(
            kind, draft.preliminary, headline, body, alert_status, first_kind=first_kind
        ),
        card=timeline.card(incident_slug, alert_status, update_id, seq, [*earlier, draft_version]),
        link=link,
        history_page=wording.history_url(public_url, incident_slug),
    )


def in_force(alerting: Alerting, earlier: Sequence[UpdateVersion]) -> Alerting:
    """The alerting fields the version would have: those sent, over the current version's
    where not sent (as `updates.change_update` stores them)."""
    return alerting.over(stored_alerting(earlier[-1].alerting)) if earlier else alerting


@functools.lru_cache(maxsize=256)
def run_preview(
    channel: str,
    kind: VersionKind,
    first_kind: VersionKind,
    preliminary: bool,
    headline: str | None,
    body: str,
    reason: str | None,
    link: str,
    alert_status: AlertStatus,
    rules: TextRules,
) -> RunPreview:
    """The posts `wording.post_run` makes for one network, each measured. Cached: the same
    draft is previewed, reviewed and published in turn, and a long one takes many measurements."""
    posts = wording.post_run(
        kind,
        preliminary,
        headline,
        body,
        reason,
        link,
        alert_status=alert_status,
        first_kind=first_kind,
        rules=rules,
    )
    run = post_runs.measured(posts, rules)
    return RunPreview(
        channel,
        NETWORKS[channel],
        rules.limit,
        tuple(
            PostPreview(text, weight, over)
            for text, weight, over in zip(posts, run.weights, run.over, strict=True)
        ),
    )
