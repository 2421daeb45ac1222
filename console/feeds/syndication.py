"""Atom and RSS with feedgen: one entry per published version, under a permanent id.

A correction never changes an earlier entry; it is a new entry with its own id, so feed
readers neither duplicate nor silently rewrite what a newsroom already saw. Every date is
set explicitly from the record (feedgen would default to "now"), so rendering an unchanged
archive twice gives the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from markupsafe import Markup

from console.domain import wording
from console.feeds.items import FeedItem, IncidentInfo
from console.feeds.paths import ATOM_TYPE, RSS_TYPE
from console.html import paragraphs
from console.models import AlertStatus, VersionKind
from console.settings import Settings

ATOM_NS = "http://www.w3.org/2005/Atom"
# The feeds of an empty archive still need an `updated`; this one never changes.
NOTHING_YET = datetime(1970, 1, 1, tzinfo=UTC)
NOTICES = {
    VersionKind.CORRECTION: "Correction",
    VersionKind.CONFIRMATION: "Confirmed",
    VersionKind.RETRACTION: "Retracted",
}


def entry_id(host: str, item: FeedItem) -> str:
    """A permanent `tag:` URI (RFC 4151) for one version; the date is the incident's creation day."""
    day = item.incident.created_at.astimezone(UTC).strftime("%Y-%m-%d")
    return f"tag:{host},{day}:incidents/{item.incident.slug}/updates/{item.seq}/versions/{item.version}"


def entry_title(item: FeedItem) -> str:
    return wording.entry_title(
        item.kind, item.preliminary, item.headline, item.body, item.incident.alert_status
    )


def entry_html(public_url: str, item: FeedItem) -> str:
    """The entry's content as HTML; every piece of text in it is escaped, so markup stays inert."""
    incident = item.incident
    parts: list[Markup] = []
    if incident.alert_status is not AlertStatus.ACTUAL:
        parts.append(
            Markup("<p><strong>{}</strong>: this is not a real incident.</p>").format(
                incident.alert_status.value.upper()
            )
        )
    notice = NOTICES.get(item.kind)
    if notice is not None:
        parts.append(Markup("<p><strong>{}:</strong> {}</p>").format(notice, item.reason or ""))
    if item.preliminary and item.kind is not VersionKind.RETRACTION:
        parts.append(Markup("<p><em>Preliminary: not yet confirmed; details may change.</em></p>"))
    text = Markup("")
    if item.headline:
        text += Markup("<p><strong>{}</strong></p>").format(item.headline)
    text += paragraphs(item.body)
    parts.append(Markup("<del>{}</del>").format(text) if item.kind is VersionKind.RETRACTION else text)
    if item.kind in (VersionKind.CORRECTION, VersionKind.RETRACTION):
        history = wording.history_url(public_url, incident.slug, item.seq)
        parts.append(
            Markup('<p><a href="{}">What changed: every version of this update</a></p>').format(history)
        )
    place = f" · {incident.location}" if incident.location else ""
    parts.append(
        Markup('<p>{}{} · <a href="{}">live updates</a></p>').format(
            incident.title, place, wording.update_url(public_url, incident.slug, item.seq)
        )
    )
    return str(Markup("\n").join(parts))


class _HubInRss(BaseExtension):  # type: ignore[misc]
    """feedgen writes only the self link into RSS; WebSub discovery also needs the hub link."""

    hub: str | None = None

    def extend_rss(self, feed: Any) -> Any:
        if self.hub:
            channel = feed[0]
            channel.append(channel.makeelement(f"{{{ATOM_NS}}}link", {"href": self.hub, "rel": "hub"}))
        return feed


class _AtomEntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """What feedgen 1.0 drops from Atom entries: the rel and type of links (a second link would
    become another "alternate"; the one link feedgen writes is the alternate) and the type of
    out-of-line content."""

    related: dict[str, str] | None = None
    content_type: str | None = None

    def extend_atom(self, entry: Any) -> Any:
        if self.related:
            entry.append(entry.makeelement("link", {**self.related, "rel": "related"}))
        if self.content_type:
            entry.find("content").set("type", self.content_type)
        return entry


@dataclass(frozen=True)
class FeedSpec:
    """A feed's own fields; each is rendered as Atom at `atom_url` and as RSS at `rss_url`."""

    title: str
    subtitle: str
    atom_url: str
    rss_url: str
    page_url: str
    updated: datetime


def new_feed(settings: Settings) -> FeedGenerator:
    """A FeedGenerator that writes the WebSub hub into RSS too, with `set_related` and
    `set_content_link` for Atom entries."""
    feed = FeedGenerator()
    feed.register_extension("hub_in_rss", _HubInRss, None, atom=False, rss=True)
    feed.hub_in_rss.hub = settings.websub_hub
    feed.register_extension("atom_extras", BaseExtension, _AtomEntryExtras, atom=True, rss=False)
    return feed


def set_related(entry: Any, href: str, title: str) -> None:
    entry.atom_extras.related = {"href": href, "type": "text/html", "title": title}


def set_content_link(entry: Any, href: str, media_type: str) -> None:
    """Out-of-line content: `<content src="..." type="...">`."""
    entry.content(src=href)
    entry.atom_extras.content_type = media_type


def _generator(settings: Settings, spec: FeedSpec, items: Sequence[FeedItem]) -> FeedGenerator:
    feed = new_feed(settings)
    feed.id(spec.atom_url)
    feed.title(spec.title)
    feed.subtitle(spec.subtitle)
    feed.language(settings.feeds_language)
    feed.updated(spec.updated)
    for item in items:  # newest first, as given
        entry = feed.add_entry(order="append")
        entry.id(entry_id(settings.public_host, item))  # also the RSS guid, isPermaLink="false"
        entry.title(entry_title(item))
        # RSS's one <link> is the alternate one: the update on the live page
        page = wording.update_url(settings.public_url, item.incident.slug, item.seq)
        entry.link(href=page, rel="alternate", type="text/html")
        if item.kind in (VersionKind.CORRECTION, VersionKind.RETRACTION):
            history = wording.history_url(settings.public_url, item.incident.slug, item.seq)
            set_related(entry, history, "Every version of this update")
        entry.published(item.published_at)
        entry.updated(item.published_at)
        entry.author(name=item.author)
        entry.category(term=item.incident.category)
        entry.content(entry_html(settings.public_url, item), type="html")
    return feed


def feed_links(settings: Settings, self_url: str, self_type: str, page_url: str) -> list[dict[str, str]]:
    """self, the WebSub hub if there is one, and the page (last: feedgen makes it RSS's <link>)."""
    links = [{"href": self_url, "rel": "self", "type": self_type}]
    if settings.websub_hub:
        links.append({"href": settings.websub_hub, "rel": "hub"})
    links.append({"href": page_url, "rel": "alternate", "type": "text/html"})
    return links


def render(settings: Settings, spec: FeedSpec, items: Sequence[FeedItem]) -> tuple[bytes, bytes]:
    """The feed as (Atom, RSS) bytes."""
    feed = _generator(settings, spec, items)
    feed.link(feed_links(settings, spec.atom_url, ATOM_TYPE, spec.page_url), replace=True)
    atom: bytes = feed.atom_str(pretty=True)
    feed.link(feed_links(settings, spec.rss_url, RSS_TYPE, spec.page_url), replace=True)
    # RSS readers take <description> as HTML (Atom's subtitle is text): an incident summary
    # holding "<script>" must reach them escaped, as text.
    feed.subtitle(html.escape(spec.subtitle, quote=False))
    rss: bytes = feed.rss_str(pretty=True)
    return atom, rss


def newest(items: Sequence[FeedItem], default: datetime) -> datetime:
    return max((item.published_at for item in items), default=default)


def updates_spec(settings: Settings, items: Sequence[FeedItem]) -> FeedSpec:
    return FeedSpec(
        title=settings.feeds_title,
        subtitle="Every published version of every incident update, newest first. A correction, "
        "confirmation or retraction is a new entry; earlier entries are never changed.",
        atom_url=f"{settings.public_url}/feeds/updates.atom",
        rss_url=f"{settings.public_url}/feeds/updates.rss",
        page_url=f"{settings.public_url}/",
        updated=newest(items, NOTHING_YET),
    )


def incident_spec(settings: Settings, incident: IncidentInfo, items: Sequence[FeedItem]) -> FeedSpec:
    page = f"{settings.public_url}/incidents/{incident.slug}"
    drill = wording.prefix(VersionKind.ORIGINAL, False, incident.alert_status)
    return FeedSpec(
        title=f"{drill}{incident.title}",
        subtitle=incident.summary or f"Updates on {incident.title}",
        atom_url=f"{page}/feed.atom",
        rss_url=f"{page}/feed.rss",
        page_url=page,
        updated=newest(items, incident.created_at),
    )
