"""CAP 1.2 (OASIS Common Alerting Protocol): one `<alert>` per published version.

The first version of an update is an Alert, each later one an Update that references every
earlier message of the update, a retraction a Cancel. A published message never changes: a
translation added later is a new message (see `console.feeds.cap_history`). `sent` always carries an explicit
offset (UTC is written `-00:00`, never `Z`) and is cut to whole seconds, so a reference
triple matches the message it names character for character.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from xml.etree import ElementTree

from console.domain import wording
from console.domain.area import Area, cap_circle, cap_polygon
from console.feeds.cap_history import CapMessage
from console.feeds.items import FeedItem
from console.feeds.paths import ATOM_TYPE, CAP_TYPE
from console.feeds.phrases import ENGLISH, FeedPhrases
from console.feeds.syndication import (
    NOTHING_YET,
    FeedLanguage,
    add_link,
    entry_id,
    entry_title,
    feed_language,
    feed_links,
    new_feed,
    primary_feeds,
    set_related,
)
from console.models import AlertStatus, VersionKind
from console.settings import Settings

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
STATUS = {AlertStatus.ACTUAL: "Actual", AlertStatus.EXERCISE: "Exercise", AlertStatus.TEST: "Test"}
# When a version gives no urgency or severity (issue 17): say so rather than guess.
URGENCY = "Unknown"
SEVERITY = "Unknown"


def cap_time(moment: datetime) -> str:
    text = moment.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00"


def identifier(message: CapMessage) -> str:
    """Unique per sender and free of spaces, commas, `<` and `&` (slugs are [a-z0-9-])."""
    item = message.item
    revision = f"-r{message.revision}" if message.revision else ""
    return f"{item.incident.slug}-update-{item.seq}-v{item.version}{revision}"


def message_type(message: CapMessage) -> str:
    item = message.item
    if item.kind is VersionKind.RETRACTION:
        return "Cancel"  # a revision of a retraction (a translation of it) still cancels
    if item.kind is VersionKind.RESOLUTION:  # the all-clear updates the incident's alerts
        return "Update"
    return "Alert" if item.version == 1 and message.revision == 0 else "Update"


def certainty(item: FeedItem) -> str:
    if item.kind is VersionKind.RETRACTION:
        return "Unlikely"  # withdrawn: the agency no longer stands by it
    if item.alerting.certainty is not None:
        return item.alerting.certainty
    return "Likely" if item.preliminary else "Observed"


def response_types(item: FeedItem) -> tuple[str, ...]:
    if item.alerting.response_types is not None:
        return item.alerting.response_types
    # The all-clear, and each correction or confirmation of it: an Update that left AllClear
    # out would replace the all-clear, for a reader of CAP, with an alert in force again.
    return ("AllClear",) if item.first_kind is VersionKind.RESOLUTION else ()


def reference(sender: str, message: CapMessage) -> str:
    """`sender,identifier,sent`: how CAP 1.2 names an earlier message in `<references>`."""
    return f"{sender},{identifier(message)},{cap_time(message.sent)}"


def _add(parent: ElementTree.Element, name: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    element.text = text
    return element


def _description(item: FeedItem, words: FeedPhrases = ENGLISH) -> str:
    notice = words.notice(item.kind)
    text = _text(item)
    if notice is None:
        return text
    if item.kind is VersionKind.RETRACTION:
        return f"{notice}: {item.reason or ''}\n\n{words.withdrawn_text}: {text}"
    return f"{notice}: {item.reason or ''}\n\n{text}"


def _text(item: FeedItem) -> str:
    """The body, after the whole headline when `<headline>` holds only its start: the end of
    a long headline is in the message, not lost."""
    whole = item.headline is None or wording.title_text(item.headline, item.body) == item.headline
    return item.body if whole else f"{item.headline}\n\n{item.body}"


def _instruction_text(item: FeedItem, pinned: FeedItem | None, words: FeedPhrases) -> str | None:
    """The version's own instruction; else the pinned "What to do now" (not on an all-clear),
    labelled as the live page shows it: PRELIMINARY while it is, whatever this message is."""
    if item.alerting.instruction is not None:
        return item.alerting.instruction
    if pinned is not None and item.kind is not VersionKind.RESOLUTION:
        text = f"{pinned.headline}\n\n{pinned.body}" if pinned.headline else pinned.body
        return f"{words.labelled(pinned.badges)}{text}"
    return None


def _info(
    alert: ElementTree.Element,
    settings: Settings,
    item: FeedItem,
    language: FeedLanguage,
    instruction: FeedItem | None,
    mapped: Area | None,
) -> None:
    incident = item.incident
    # A retraction's Cancel carries none of what it withdraws (response types, instruction, WEA
    # texts): a relay showing them would tell people to act on a withdrawn alert.
    withdrawn = item.kind is VersionKind.RETRACTION
    info = ElementTree.SubElement(alert, f"{{{CAP_NS}}}info")
    _add(info, "language", language.declared)
    _add(info, "category", incident.category)
    alerting = item.alerting
    _add(info, "event", alerting.event or incident.title)
    for response in () if withdrawn else response_types(item):
        _add(info, "responseType", response)
    _add(info, "urgency", alerting.urgency or URGENCY)
    _add(info, "severity", alerting.severity or SEVERITY)
    _add(info, "certainty", certainty(item))
    if alerting.expires is not None:
        _add(info, "expires", cap_time(alerting.expires))
    _add(info, "senderName", settings.agency_name)
    _add(info, "headline", entry_title(item, language.words))
    _add(info, "description", _description(item, language.words))
    said = None if withdrawn else _instruction_text(item, instruction, language.words)
    if said is not None:
        _add(info, "instruction", said)
    _add(info, "web", language.page(wording.update_url(settings.public_url, incident.slug, item.seq)))
    _add(info, "contact", settings.agency_contact)
    # IPAWS profile: the Wireless Emergency Alert texts (the Spanish ones in a Spanish <info>)
    for name, text in (("CMAMtext", alerting.wea_short), ("CMAMlongtext", alerting.wea_long)):
        if text is not None and not withdrawn:
            parameter = ElementTree.SubElement(info, f"{{{CAP_NS}}}parameter")
            _add(parameter, "valueName", name)
            _add(parameter, "value", text)
    # CAP 1.2's order: ... contact, parameter, resource, area. <digest> is SHA-1, as the
    # standard says (the stored files are named by SHA-256, which CAP 1.2 has no place for).
    for image in item.images:
        resource = ElementTree.SubElement(info, f"{{{CAP_NS}}}resource")
        _add(resource, "resourceDesc", image.alt)
        _add(resource, "mimeType", image.content_type)
        _add(resource, "size", str(image.size))
        _add(resource, "uri", settings.public_url + image.path)
        _add(resource, "digest", image.sha1)
    if mapped is not None:
        # CAP 1.2's order: areaDesc, then every polygon, circle and geocode
        area = ElementTree.SubElement(info, f"{{{CAP_NS}}}area")
        _add(area, "areaDesc", mapped["description"] or incident.location or incident.title)
        for ring in mapped["polygons"]:
            _add(area, "polygon", cap_polygon(ring))
        for circle in mapped["circles"]:
            _add(area, "circle", cap_circle(circle))
        for code in mapped["geocodes"]:
            geocode = ElementTree.SubElement(area, f"{{{CAP_NS}}}geocode")
            _add(geocode, "valueName", code["name"])
            _add(geocode, "value", code["value"])
    elif incident.location:
        area = ElementTree.SubElement(info, f"{{{CAP_NS}}}area")
        _add(area, "areaDesc", incident.location)


def render_message(
    settings: Settings,
    messages: Sequence[CapMessage],
    others: Sequence[CapMessage] = (),
    instruction: Mapping[str | None, FeedItem] | None = None,
    area: Area | None = None,
) -> bytes:
    """The last of `messages` (every message of one update so far, oldest first) as CAP XML.

    One `<info>` per language: the primary text first, then each translation it carries.
    `others`: the incident's other messages it also references (an all-clear references them all).
    `instruction`: what to do now, by language (None: the primary), for each `<info>` in a
    language it has (`cap_history.instruction`). `area`: the incident's mapped area when the
    message was sent (`cap_history.DetailsHistory`), in every `<info>`."""
    instruction = instruction or {}
    *earlier, message = messages
    item = message.item
    incident = item.incident
    sender = settings.cap_sender_id
    alert = ElementTree.Element(f"{{{CAP_NS}}}alert")
    _add(alert, "identifier", identifier(message))
    _add(alert, "sender", sender)
    _add(alert, "sent", cap_time(message.sent))
    _add(alert, "status", STATUS[incident.alert_status])
    _add(alert, "msgType", message_type(message))
    _add(alert, "scope", "Public")
    notice = primary_feeds(settings).words.notice(item.kind)
    if notice is not None:
        _add(alert, "note", f"{notice}: {item.reason or ''}")
    if earlier or others:
        referenced = [*others, *earlier]
        _add(alert, "references", " ".join(reference(sender, previous) for previous in referenced))
    _add(alert, "incidents", incident.slug)
    _info(alert, settings, item, primary_feeds(settings), instruction.get(None), area)
    for translation in message.translated:
        if translation.text_lang is None or translation.is_fallback:
            raise ValueError("a CAP <info> carries only a translation of the message's own version")
        language = feed_language(settings, translation.text_lang)
        _info(alert, settings, translation, language, instruction.get(translation.text_lang), area)
    ElementTree.indent(alert)
    xml: bytes = ElementTree.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)
    return xml + b"\n"


def message_url(settings: Settings, message: CapMessage) -> str:
    return settings.public_url + message.target.url_path


def render_index(settings: Settings, current: Sequence[tuple[CapMessage, bytes]]) -> bytes:
    """An Atom index of the newest CAP message of each update (with its published bytes), most
    recently sent first. Each entry carries the alert inline (`<content type="application/cap+xml">`)
    and links to its file; an entry keeps its id while a translation adds a revision of its
    version, and its `updated` moves to the revision's `sent`."""
    feed = new_feed(settings)
    feed.id(f"{settings.public_url}/feeds/cap.atom")
    feed.title(f"{settings.feeds_title}: CAP alerts")
    feed.subtitle("The current CAP 1.2 message of each incident update, most recently changed first.")
    feed.language(settings.feeds_language)
    feed.updated(max((message.sent for message, _ in current), default=NOTHING_YET))
    feed.link(
        feed_links(settings, f"{settings.public_url}/feeds/cap.atom", ATOM_TYPE, f"{settings.public_url}/")
    )
    for message, alert in current:
        item = message.item
        entry = feed.add_entry(order="append")
        entry.id(entry_id(settings.public_host, item) + "/cap")
        entry.title(entry_title(item))
        # feedgen's one link is untyped (what feedparser and most readers take as the link);
        # the typed one says what it is
        entry.link(href=message_url(settings, message), rel="alternate")
        add_link(entry, message_url(settings, message), "alternate", CAP_TYPE)
        entry.content(alert, type=CAP_TYPE)  # feedgen parses it and embeds the element
        set_related(
            entry, wording.update_url(settings.public_url, item.incident.slug, item.seq), "The update"
        )
        entry.published(item.published_at)
        entry.updated(message.sent)
        entry.author(name=item.author)
        entry.category(term=item.incident.category)
        entry.summary(
            f"CAP {message_type(message)} ({STATUS[item.incident.alert_status]}): {item.incident.title}"
        )
    atom: bytes = feed.atom_str(pretty=True)
    return atom
