"""Atom and RSS with feedgen: one entry per published version, under a permanent id.

A correction never changes an earlier entry; it is a new entry with its own id, so feed
readers neither duplicate nor silently rewrite what a newsroom already saw. Every date is
set explicitly from the record (feedgen would default to "now"), so rendering an unchanged
archive twice gives the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from markupsafe import Markup

from console.domain import wording
from console.feeds.georss import load_georss, set_shapes
from console.feeds.items import DetailsItem, FeedItem, IncidentInfo, RumorItem
from console.feeds.paths import (
    ATOM_TYPE,
    RSS_TYPE,
    Target,
    incident_atom,
    incident_rss,
    updates_atom,
    updates_rss,
)
from console.feeds.phrases import ENGLISH, FeedPhrases, phrases_for
from console.html import paragraphs
from console.i18n import gettext, in_language, own_name, verdict_word
from console.models import AlertStatus, VersionKind
from console.settings import Settings
from console.signed_head import HEAD_PATH

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# The feeds of an empty archive still need an `updated`; this one never changes.
NOTHING_YET = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedLanguage:
    """The language a feed is in. `declared` is its xml:lang / RSS <language>; `lang` is None
    for the primary feeds (/feeds/updates.atom ...), which keep their paths and entry ids."""

    lang: str | None
    primary: str
    declared: str
    words: FeedPhrases

    @property
    def translated(self) -> bool:
        return self.lang is not None and self.lang != self.primary

    def page(self, url: str) -> str:
        """A live page URL, asking for this language (`?lang=`) when it is not the primary."""
        if not self.translated:
            return url
        path, hash_, fragment = url.partition("#")
        return f"{path}?lang={self.lang}{hash_}{fragment}"


def primary_declared(settings: Settings) -> str:
    """The tag the primary language is declared as: FEEDS_LANGUAGE (e.g. en-US) when it is a
    variant of LANGUAGES' primary (en), else the primary itself."""
    base = settings.feeds_language.split("-")[0].lower()
    primary = settings.primary_language
    return settings.feeds_language if base == primary.split("-")[0].lower() else primary


def primary_feeds(settings: Settings) -> FeedLanguage:
    """The feeds at their first paths (/feeds/updates.atom ...) and CAP's first <info>: the primary
    text, declared as FEEDS_LANGUAGE as it always was, labelled in the primary language."""
    primary = settings.primary_language
    return FeedLanguage(None, primary, settings.feeds_language, phrases_for(primary))


def feed_language(settings: Settings, lang: str) -> FeedLanguage:
    """The feeds at /feeds/{lang}/: `lang` must be one of LANGUAGES. The primary language's
    carry the same entries as the first feeds."""
    primary = settings.primary_language
    declared = primary_declared(settings) if lang == primary else lang
    return FeedLanguage(lang, primary, declared, phrases_for(lang))


def entry_id(host: str, item: FeedItem, language: FeedLanguage | None = None) -> str:
    """A permanent `tag:` URI (RFC 4151) for one version; the date is the incident's creation day.
    In a translated feed the entry is its own (its text differs), ending in `/{lang}`."""
    day = item.incident.created_at.astimezone(UTC).strftime("%Y-%m-%d")
    tag = f"tag:{host},{day}:incidents/{item.incident.slug}/updates/{item.seq}/versions/{item.version}"
    return f"{tag}/{language.lang}" if language is not None and language.translated else tag


def entry_title(item: FeedItem, words: FeedPhrases = ENGLISH) -> str:
    """The labels in the feed's language, a fallback marker if the text is the primary's, then
    the headline (or the start of the body)."""
    labels = words.prefix(item.kind, item.preliminary, item.incident.alert_status, first_kind=item.first_kind)
    marker = f"[{words.fallback(item.translation)}] " if item.is_fallback else ""
    return f"{labels}{marker}{wording.title_text(item.headline, item.body)}"


def add_enclosures(entry: Any, public_url: str, item: FeedItem) -> None:
    """Each image of the version as an Atom `<link rel="enclosure">`; the first as RSS's one
    `<enclosure>` (issue 18)."""
    for image in item.images:
        link = {"href": public_url + image.path, "rel": "enclosure", "type": image.content_type}
        entry.atom_extras.links = (*entry.atom_extras.links, {**link, "length": str(image.size)})
    if item.images:
        first = item.images[0]
        entry.rss_enclosure.enclosure = {
            "url": public_url + first.path,
            "length": str(first.size),
            "type": first.content_type,
        }


def entry_html(public_url: str, item: FeedItem, language: FeedLanguage | None = None) -> str:
    """The entry's content as HTML; every piece of text in it is escaped, so markup stays inert.
    Text in the primary language inside a translated feed is marked `lang="{primary}"`."""
    words = language.words if language is not None else ENGLISH
    primary = language.primary if language is not None and language.translated else None
    incident = item.incident
    parts: list[Markup] = []
    if incident.alert_status is not AlertStatus.ACTUAL:
        label = incident.alert_status.value.upper()
        parts.append(
            Markup("<p><strong>{}</strong>: {}</p>").format(words.labels.get(label, label), words.not_real)
        )
    if item.is_fallback and language is not None:
        note = words.fallback_note(language.primary)
        parts.append(Markup("<p><strong>{}.</strong> {}</p>").format(words.fallback(item.translation), note))
    notice = words.notice(item.kind)
    if notice is not None:
        reason = item.reason or ""
        said = Markup('<span lang="{}">{}</span>').format(primary, reason) if primary and reason else reason
        parts.append(Markup("<p><strong>{}:</strong> {}</p>").format(notice, said))
    if item.preliminary and item.kind is not VersionKind.RETRACTION:
        parts.append(Markup("<p><em>{}</em></p>").format(words.preliminary))
    if item.alerting.instruction and item.kind is not VersionKind.RETRACTION:  # first (issue 17)
        instruction = item.alerting.instruction
        if primary and (item.is_fallback or item.instruction_in_primary):
            instruction = Markup('<span lang="{}">{}</span>').format(primary, instruction)
        parts.append(Markup("<p><strong>{}</strong> {}</p>").format(words.what_to_do, instruction))
    text = Markup("")
    if item.headline:
        text += Markup("<p><strong>{}</strong></p>").format(item.headline)
    text += paragraphs(item.body)
    if item.is_fallback and primary:
        text = Markup('<div lang="{}">{}</div>').format(primary, text)
    parts.append(Markup("<del>{}</del>").format(text) if item.kind is VersionKind.RETRACTION else text)
    for image in item.images:
        parts.append(
            Markup('<p><img src="{}" alt="{}" width="{}" height="{}"></p>').format(
                public_url + image.path, image.alt, image.width, image.height
            )
        )
    page = language.page if language is not None else str
    if item.kind in (VersionKind.CORRECTION, VersionKind.RETRACTION):
        history = page(wording.history_url(public_url, incident.slug, item.seq, item.version))
        parts.append(Markup('<p><a href="{}">{}</a></p>').format(history, words.what_changed))
    place = f" · {incident.location}" if incident.location else ""
    parts.append(
        Markup('<p>{}{} · <a href="{}">{}</a></p>').format(
            incident.title,
            place,
            page(wording.update_url(public_url, incident.slug, item.seq)),
            words.live_updates,
        )
    )
    return str(Markup("\n").join(parts))


class _HubInRss(BaseExtension):  # type: ignore[misc]
    """feedgen writes only the self link into RSS; WebSub discovery also needs the hub link,
    and readers the same feed in the other languages (atom:link rel="alternate" hreflang)."""

    hub: str | None = None
    alternates: Sequence[dict[str, str]] = ()

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        if self.hub:
            channel.append(channel.makeelement(f"{{{ATOM_NS}}}link", {"href": self.hub, "rel": "hub"}))
        for link in self.alternates:
            channel.append(channel.makeelement(f"{{{ATOM_NS}}}link", link))
        return feed


class _RssEnclosure(BaseEntryExtension):  # type: ignore[misc]
    """An RSS item's `<enclosure>`: RSS 2.0 allows one, so the version's first image (issue 18).
    Not feedgen's own `enclosure()`, which would also add an Atom link feedgen writes wrongly."""

    enclosure: dict[str, str] | None = None

    def extend_rss(self, item: Any) -> Any:
        if self.enclosure:
            item.append(item.makeelement("enclosure", self.enclosure))
        return item


class _AtomEntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """What feedgen 1.0 drops from Atom entries: the rel and type of links (a second link would
    become another "alternate"; the one link feedgen writes is the alternate) and the type of
    out-of-line content."""

    related: dict[str, str] | None = None
    links: tuple[dict[str, str], ...] = ()  # more links, each with its own rel and type
    content_type: str | None = None
    content_lang: str | None = None  # xml:lang of content in another language than the feed's

    def extend_atom(self, entry: Any) -> Any:
        if self.related:
            entry.append(entry.makeelement("link", {**self.related, "rel": "related"}))
        for link in self.links:
            entry.append(entry.makeelement("link", link))
        if self.content_type:
            entry.find("content").set("type", self.content_type)
        if self.content_lang:
            entry.find("content").set(XML_LANG, self.content_lang)
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
    language: FeedLanguage | None = None  # None: the primary feeds
    # The same feed in each of LANGUAGES, as (tag, Atom target), for rel="alternate" hreflang
    translations: tuple[tuple[str, Target], ...] = ()


def new_feed(settings: Settings) -> FeedGenerator:
    """A FeedGenerator that writes the WebSub hub into RSS too, with `set_related` and
    `set_content_link` for Atom entries; its author and rights are the agency's (issue 18)."""
    feed = FeedGenerator()
    agency = {"name": settings.agency_name, **({"uri": settings.agency_url} if settings.agency_url else {})}
    feed.author(agency)
    feed.rights(f"Public information from {settings.agency_name}.")
    feed.register_extension("hub_in_rss", _HubInRss, None, atom=False, rss=True)
    feed.hub_in_rss.hub = settings.websub_hub
    feed.register_extension("atom_extras", BaseExtension, _AtomEntryExtras, atom=True, rss=False)
    feed.register_extension("rss_enclosure", BaseExtension, _RssEnclosure, atom=False, rss=True)
    return feed


def set_related(entry: Any, href: str, title: str) -> None:
    entry.atom_extras.related = {"href": href, "type": "text/html", "title": title}


def add_link(entry: Any, href: str, rel: str, media_type: str) -> None:
    entry.atom_extras.links = (*entry.atom_extras.links, {"href": href, "rel": rel, "type": media_type})


def set_content_link(entry: Any, href: str, media_type: str) -> None:
    """Out-of-line content: `<content src="..." type="...">`."""
    entry.content(src=href)
    entry.atom_extras.content_type = media_type


def _details_entry(
    feed: FeedGenerator, settings: Settings, item: DetailsItem, language: FeedLanguage
) -> None:
    """A `CORRECTION: incident details` entry: the reason, and each field before and after; in a
    translated feed in its words, the texts (the primary language's) marked as such."""
    words = language.words
    incident = item.incident
    day = incident.created_at.astimezone(UTC).strftime("%Y-%m-%d")
    tag = f"tag:{settings.public_host},{day}:incidents/{incident.slug}/details/versions/{item.version}"
    entry = feed.add_entry(order="append")
    entry.id(f"{tag}/{language.lang}" if language.translated else tag)
    entry.title(f"{words.labels.get('CORRECTION', 'CORRECTION')}: {words.incident_details}: {incident.title}")
    history = language.page(
        f"{settings.public_url}/incidents/{incident.slug}/history#details-v{item.version}"
    )
    entry.link(href=history, rel="alternate", type="text/html")
    entry.published(item.published_at)
    entry.updated(item.published_at)
    entry.author(name=item.author)
    entry.category(term=incident.category)
    # The primary feeds name a field by its key, as their entries have since they were first
    # written (an entry keeps its bytes); a translated feed in its own words.
    lang = f' lang="{language.primary}"' if language.translated else ""
    names = words.detail_labels if language.translated else {}
    changes = "".join(
        f"<li>{html.escape(names.get(name, name))}: <del{lang}>{html.escape(before)}</del>"
        f" → <ins{lang}>{html.escape(after)}</ins></li>"
        for name, before, after in item.changes
    )
    entry.content(f"<p{lang}>{html.escape(item.reason)}</p><ul>{changes}</ul>", type="html")


RUMOR_LABEL = "RUMOR CONTROL"  # a gettext message (the /rumors page says it too)


def _rumor_entry(feed: FeedGenerator, settings: Settings, item: RumorItem, language: FeedLanguage) -> None:
    """A `RUMOR CONTROL: FALSE — “claim”` entry: never mistakable for the claim itself, the
    verdict first and the claim quoted; each version its own entry, like an update's. A
    correction's title opens with the CORRECTION label in the feed's language, as an update
    correction's does: `CORRECTION: RUMOR CONTROL: TRUE — “claim”`."""
    lang = language.lang or language.primary
    claim, facts, text_lang = item.text_in(lang)
    with in_language(lang):
        label, verdict = gettext(RUMOR_LABEL), verdict_word(item.verdict)
    day = item.published_at.astimezone(UTC).strftime("%Y-%m-%d")
    tag = f"tag:{settings.public_host},{day}:rumors/{item.rumor_id}/versions/{item.version}"
    entry = feed.add_entry(order="append")
    entry.id(f"{tag}/{language.lang}" if language.translated else tag)
    entry.title(f"{language.words.labelled(item.labels)}{label}: {verdict} — “{claim}”")
    entry.link(href=language.page(f"{settings.public_url}/rumors#rumor-{item.rumor_id}"), rel="alternate")
    entry.published(item.published_at)
    entry.updated(item.published_at)
    entry.author(name=item.author)
    entry.category(term="rumor-control")
    corrected = (
        f"<p>{html.escape(language.words.correction)}: {html.escape(item.reason)}</p>" if item.reason else ""
    )
    entry.content(
        f"<p><strong>{html.escape(label)}: {html.escape(verdict)}</strong> — <q>{html.escape(claim)}</q></p>"
        f"{paragraphs(facts)}{corrected}",
        type="html",
    )
    if language.translated and text_lang is None:
        entry.atom_extras.content_lang = language.primary


Extra = DetailsItem | RumorItem  # entries beside the versions of updates, merged in by time


def _extra_entry(feed: FeedGenerator, settings: Settings, item: Extra, language: FeedLanguage) -> None:
    if isinstance(item, RumorItem):
        _rumor_entry(feed, settings, item, language)
    else:
        _details_entry(feed, settings, item, language)


def merged(items: Sequence[FeedItem], extras: Sequence[Extra]) -> list[FeedItem | Extra]:
    """Every entry of a feed in the order it writes them, newest first: the versions (`items`,
    newest first as given) with the `extras` (in any order) merged in by time, a version before
    an extra published at the same moment."""
    pending = sorted(extras, key=lambda each: each.published_at, reverse=True)
    entries: list[FeedItem | Extra] = []
    for item in items:
        while pending and pending[0].published_at > item.published_at:
            entries.append(pending.pop(0))
        entries.append(item)
    return [*entries, *pending]


def newest_entries(
    items: Sequence[FeedItem], extras: Sequence[Extra], limit: int
) -> tuple[list[FeedItem], list[Extra]]:
    """The `limit` newest entries of a feed (FEEDS_MAX_ENTRIES), of every kind together: its
    versions (`items`, newest first) and its extras. Each kind read up to `limit` of its own
    newest is enough to find them."""
    kept = merged(items, extras)[:limit]
    return (
        [each for each in kept if isinstance(each, FeedItem)],
        [each for each in kept if not isinstance(each, FeedItem)],
    )


def _generator(
    settings: Settings, spec: FeedSpec, items: Sequence[FeedItem], extras: Sequence[Extra] = ()
) -> FeedGenerator:
    language = spec.language or primary_feeds(settings)
    words = language.words
    feed = new_feed(settings)
    feed.id(spec.atom_url)
    feed.title(spec.title)
    feed.subtitle(spec.subtitle)
    feed.language(language.declared)
    feed.updated(spec.updated)
    page = language.page
    if extras:
        feed.updated(max(spec.updated, *(each.published_at for each in extras)))
    if any(item.incident.has_shapes for item in items):
        load_georss(feed)
    for item in merged(items, extras):
        if not isinstance(item, FeedItem):
            _extra_entry(feed, settings, item, language)
            continue
        entry = feed.add_entry(order="append")
        entry.id(entry_id(settings.public_host, item, language))  # also the RSS guid, isPermaLink="false"
        entry.title(entry_title(item, words))
        # RSS's one <link> is the alternate one: the update on the live page
        entry.link(
            href=page(wording.update_url(settings.public_url, item.incident.slug, item.seq)),
            rel="alternate",
            type="text/html",
        )
        if item.kind in (VersionKind.CORRECTION, VersionKind.RETRACTION):
            history = page(wording.history_url(settings.public_url, item.incident.slug, item.seq))
            set_related(entry, history, words.every_version)
        entry.published(item.published_at)
        entry.updated(item.updated)
        entry.author(name=item.author)
        entry.category(term=item.incident.category)
        entry.content(entry_html(settings.public_url, item, language), type="html")
        add_enclosures(entry, settings.public_url, item)
        if item.is_fallback:
            entry.atom_extras.content_lang = language.primary
        if item.incident.has_shapes:
            set_shapes(entry, item.incident.georss_polygons, item.incident.georss_circles)
    return feed


def feed_links(
    settings: Settings,
    self_url: str,
    self_type: str,
    page_url: str,
    alternates: Sequence[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """self, the WebSub hub if there is one, the feed in other languages, and the page (last:
    feedgen makes it RSS's <link>)."""
    links = [{"href": self_url, "rel": "self", "type": self_type}]
    if settings.websub_hub:
        links.append({"href": settings.websub_hub, "rel": "hub"})
    links += alternates
    # What proves the feed's content: the agency's signed audit chain head (issue 19).
    links.append(
        {
            "href": settings.public_url + HEAD_PATH,
            "rel": "related",
            "type": "application/json",
            "title": "Signed audit chain head",
        }
    )
    links.append({"href": page_url, "rel": "alternate", "type": "text/html"})
    return links


def _translations(settings: Settings, spec: FeedSpec) -> list[dict[str, str]]:
    return [
        {
            "href": settings.public_url + target.url_path,
            "rel": "alternate",
            "type": ATOM_TYPE,
            "hreflang": lang,
        }
        for lang, target in spec.translations
        if spec.language is None or lang != spec.language.lang
    ]


def render(
    settings: Settings, spec: FeedSpec, items: Sequence[FeedItem], extras: Sequence[Extra] = ()
) -> tuple[bytes, bytes]:
    """The feed as (Atom, RSS) bytes; `extras`: corrections of incident details and rumor
    responses, in any order."""
    feed = _generator(settings, spec, items, extras)
    alternates = _translations(settings, spec)
    feed.link(feed_links(settings, spec.atom_url, ATOM_TYPE, spec.page_url, alternates), replace=True)
    atom: bytes = feed.atom_str(pretty=True)
    feed.link(feed_links(settings, spec.rss_url, RSS_TYPE, spec.page_url), replace=True)
    # RSS readers take <description> as HTML (Atom's subtitle is text): an incident summary
    # holding "<script>" must reach them escaped, as text.
    feed.subtitle(html.escape(spec.subtitle, quote=False))
    feed.hub_in_rss.alternates = alternates
    rss: bytes = feed.rss_str(pretty=True)
    return atom, rss


def newest(items: Sequence[FeedItem], default: datetime) -> datetime:
    return max((item.updated for item in items), default=default)


def _in_language(
    settings: Settings, spec: FeedSpec, language: FeedLanguage | None, atom: Target, rss: Target
) -> FeedSpec:
    """`spec` as the feed at /feeds/{lang}/... (`atom` and `rss`), in `language`."""
    if language is None or language.lang is None:
        return spec
    return replace(
        spec,
        title=f"{spec.title} ({own_name(language.lang)})" if language.translated else spec.title,
        atom_url=settings.public_url + atom.url_path,
        rss_url=settings.public_url + rss.url_path,
        page_url=language.page(spec.page_url),
        language=language,
    )


def updates_spec(
    settings: Settings, items: Sequence[FeedItem], language: FeedLanguage | None = None
) -> FeedSpec:
    words = (language or primary_feeds(settings)).words
    spec = FeedSpec(
        title=settings.feeds_title,
        subtitle=words.updates_subtitle,
        atom_url=f"{settings.public_url}/feeds/updates.atom",
        rss_url=f"{settings.public_url}/feeds/updates.rss",
        page_url=f"{settings.public_url}/",
        updated=newest(items, NOTHING_YET),
        translations=tuple((lang, updates_atom(lang)) for lang in _translated(settings)),
    )
    lang = language.lang if language is not None else None
    return _in_language(settings, spec, language, updates_atom(lang), updates_rss(lang))


def incident_spec(
    settings: Settings,
    incident: IncidentInfo,
    items: Sequence[FeedItem],
    language: FeedLanguage | None = None,
    pinned: FeedItem | None = None,
) -> FeedSpec:
    """`pinned`: the update shown first as what to do now (issue 13.6), which heads the subtitle."""
    words = (language or primary_feeds(settings)).words
    page = f"{settings.public_url}/incidents/{incident.slug}"
    drill = words.prefix(VersionKind.ORIGINAL, False, incident.alert_status)
    subtitle = incident.summary or words.updates_on(incident.title)
    if pinned is not None:
        text = " ".join(part for part in (pinned.headline, pinned.body) if part)
        subtitle = f"{words.what_to_do_now}: {words.labelled(pinned.badges)}{text}\n\n{subtitle}"
    spec = FeedSpec(
        title=f"{drill}{incident.title}",
        subtitle=subtitle,
        atom_url=f"{page}/feed.atom",
        rss_url=f"{page}/feed.rss",
        page_url=page,
        updated=newest(items, incident.created_at),
        translations=tuple((lang, incident_atom(incident.slug, lang)) for lang in _translated(settings)),
    )
    lang = language.lang if language is not None else None
    return _in_language(
        settings, spec, language, incident_atom(incident.slug, lang), incident_rss(incident.slug, lang)
    )


def _translated(settings: Settings) -> tuple[str, ...]:
    """The languages the feeds link to each other in: none while LANGUAGES names one language."""
    return settings.languages if len(settings.languages) > 1 else ()
