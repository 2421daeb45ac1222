"""CAP 1.2 (OASIS Common Alerting Protocol): one `<alert>` per published version.

The first version of an update is an Alert, each later one an Update that references every
earlier message of the update, a retraction a Cancel. `sent` always carries an explicit
offset (UTC is written `-00:00`, never `Z`) and is cut to whole seconds, so a reference
triple matches the message it names character for character.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree

from console.domain import wording
from console.feeds.items import FeedItem
from console.feeds.paths import ATOM_TYPE, CAP_TYPE, cap_message
from console.feeds.phrases import ENGLISH, FeedPhrases
from console.feeds.syndication import (
    NOTHING_YET,
    FeedLanguage,
    entry_id,
    entry_title,
    feed_language,
    feed_links,
    new_feed,
    newest,
    primary_feeds,
    set_content_link,
    set_related,
)
from console.models import AlertStatus, VersionKind
from console.settings import Settings

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
STATUS = {AlertStatus.ACTUAL: "Actual", AlertStatus.EXERCISE: "Exercise", AlertStatus.TEST: "Test"}
# The record holds no urgency or severity: say so rather than guess.
URGENCY = "Unknown"
SEVERITY = "Unknown"


def cap_time(moment: datetime) -> str:
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00"


def identifier(item: FeedItem) -> str:
    """Unique per sender and free of spaces, commas, `<` and `&` (slugs are [a-z0-9-])."""
    return f"{item.incident.slug}-update-{item.seq}-v{item.version}"


def message_type(item: FeedItem) -> str:
    if item.kind is VersionKind.RETRACTION:
        return "Cancel"
    if item.kind is VersionKind.RESOLUTION:  # the all-clear updates the incident's alerts
        return "Update"
    return "Alert" if item.version == 1 else "Update"


def certainty(item: FeedItem) -> str:
    if item.kind is VersionKind.RETRACTION:
        return "Unlikely"  # withdrawn: the agency no longer stands by it
    return "Likely" if item.preliminary else "Observed"


def reference(sender: str, item: FeedItem) -> str:
    return f"{sender},{identifier(item)},{cap_time(item.published_at)}"


def _add(parent: ElementTree.Element, name: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    element.text = text
    return element


def _description(item: FeedItem, words: FeedPhrases = ENGLISH) -> str:
    notice = words.notice(item.kind)
    if notice is None:
        return item.body
    if item.kind is VersionKind.RETRACTION:
        return f"{notice}: {item.reason or ''}\n\n{words.withdrawn_text}: {item.body}"
    return f"{notice}: {item.reason or ''}\n\n{item.body}"


def _info(alert: ElementTree.Element, settings: Settings, item: FeedItem, language: FeedLanguage) -> None:
    incident = item.incident
    info = ElementTree.SubElement(alert, f"{{{CAP_NS}}}info")
    _add(info, "language", language.declared)
    _add(info, "category", incident.category)
    _add(info, "event", incident.title)
    if item.kind is VersionKind.RESOLUTION:
        _add(info, "responseType", "AllClear")
    _add(info, "urgency", URGENCY)
    _add(info, "severity", SEVERITY)
    _add(info, "certainty", certainty(item))
    _add(info, "headline", entry_title(item, language.words))
    _add(info, "description", _description(item, language.words))
    _add(info, "web", language.page(wording.update_url(settings.public_url, incident.slug, item.seq)))
    if incident.location:
        area = ElementTree.SubElement(info, f"{{{CAP_NS}}}area")
        _add(area, "areaDesc", incident.location)


def render_message(
    settings: Settings,
    history: Sequence[FeedItem],
    translated: Sequence[FeedItem] = (),
    others: Sequence[FeedItem] = (),
) -> bytes:
    """The CAP message of the last version in `history` (all versions of one update so far, oldest first).

    One `<info>` per language: the primary text first, then each of `translated` (the last
    version in other languages; only current translations of that very version belong here).
    `others`: the incident's other messages it also references (an all-clear references them all)."""
    *earlier, item = history
    incident = item.incident
    sender = settings.cap_sender_id
    alert = ElementTree.Element(f"{{{CAP_NS}}}alert")
    _add(alert, "identifier", identifier(item))
    _add(alert, "sender", sender)
    _add(alert, "sent", cap_time(item.published_at))
    _add(alert, "status", STATUS[incident.alert_status])
    _add(alert, "msgType", message_type(item))
    _add(alert, "scope", "Public")
    notice = primary_feeds(settings).words.notice(item.kind)
    if notice is not None:
        _add(alert, "note", f"{notice}: {item.reason or ''}")
    if earlier or others:
        referenced = [*others, *earlier]
        _add(alert, "references", " ".join(reference(sender, previous) for previous in referenced))
    _add(alert, "incidents", incident.slug)
    _info(alert, settings, item, primary_feeds(settings))
    for translation in translated:
        if translation.text_lang is None or translation.is_fallback:
            raise ValueError("a CAP <info> carries only a current translation of the message's version")
        _info(alert, settings, translation, feed_language(settings, translation.text_lang))
    ElementTree.indent(alert)
    xml: bytes = ElementTree.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)
    return xml + b"\n"


def message_url(settings: Settings, item: FeedItem) -> str:
    return settings.public_url + cap_message(item.incident.slug, item.seq, item.version).url_path


def render_index(settings: Settings, current: Sequence[FeedItem]) -> bytes:
    """An Atom index of the current CAP message of each update, most recently changed first."""
    feed = new_feed(settings)
    feed.id(f"{settings.public_url}/feeds/cap.atom")
    feed.title(f"{settings.feeds_title}: CAP alerts")
    feed.subtitle("The current CAP 1.2 message of each incident update, most recently changed first.")
    feed.language(settings.feeds_language)
    feed.updated(newest(current, NOTHING_YET))
    feed.link(
        feed_links(settings, f"{settings.public_url}/feeds/cap.atom", ATOM_TYPE, f"{settings.public_url}/")
    )
    for item in current:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(settings.public_host, item) + "/cap")
        entry.title(entry_title(item))
        entry.link(href=message_url(settings, item), rel="alternate")
        set_content_link(entry, message_url(settings, item), CAP_TYPE)
        set_related(
            entry, wording.update_url(settings.public_url, item.incident.slug, item.seq), "The update"
        )
        entry.published(item.published_at)
        entry.updated(item.published_at)
        entry.author(name=item.author)
        entry.category(term=item.incident.category)
        entry.summary(
            f"CAP {message_type(item)} ({STATUS[item.incident.alert_status]}): {item.incident.title}"
        )
    atom: bytes = feed.atom_str(pretty=True)
    return atom
