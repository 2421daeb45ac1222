"""HTML for the live pages and for the frames pushed to them, from the same template blocks.

A frame is a handful of top-level elements that htmx's ws extension swaps out of band:
the cursor first (live.js reads its event id to drop a frame it has already shown), then
what changed, then a sentence for the `aria-live` region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jinja2_fragments import render_blocks
from markupsafe import escape
from websockets.frames import Frame as WebSocketFrame
from websockets.frames import Opcode

from console.domain.public import IncidentHeader, IncidentPage, IndexPage
from console.domain.rumors import RumorEntry
from console.domain.stream import StreamEvent
from console.domain.timeline import UpdateCard
from console.i18n import gettext, in_language
from console.languages import Languages
from console.models import EventType, VersionKind
from console.settings import Settings
from console.templating import Templates, page_context

INCIDENT_TEMPLATE = "public/incident.html"
INDEX_TEMPLATE = "public/index.html"
NOT_FOUND_TEMPLATE = "public/not_found.html"


@dataclass(frozen=True)
class Frame:
    """One pushed websocket message, built once per process and shared by every client."""

    event_id: int
    message: dict[str, Any]  # the ASGI "websocket.send" message itself
    reset: bool = False

    @classmethod
    def of(cls, event_id: int, html: str, *, reset: bool = False) -> Frame:
        return cls(event_id, {"type": "websocket.send", "text": html}, reset)

    @property
    def html(self) -> str:
        text: str = self.message["text"]
        return text

    @cached_property
    def wire(self) -> bytes:
        """The websocket text frame as it goes on the wire from a server with no extension
        (unmasked, uncompressed): the same bytes for every resident, serialized once."""
        return WebSocketFrame(Opcode.TEXT, self.html.encode()).serialize(mask=False)


@dataclass(frozen=True)
class PageFrames:
    """An event rendered in one language for both kinds of page: its own incident's, and the index."""

    incident: Frame
    index: Frame


@dataclass(frozen=True)
class EventFrames:
    """An event rendered once per language of LANGUAGES, shared by every client of that language."""

    event: StreamEvent
    languages: dict[str, PageFrames]

    @property
    def event_id(self) -> int:
        return self.event.event_id

    def for_topic(self, topic: str | None, lang: str) -> Frame:
        frames = self.languages[lang]
        return frames.index if topic is None else frames.incident


@dataclass(frozen=True)
class EventView:
    """What an event shows in one language: the incident and the event's update as they are now
    (for a rumor response: the incident's rumor responses). `cards`: the incident's timeline as
    its page shows it now, for a change of details that switched it between real, exercise and
    test (every update's EXERCISE/TEST label changes); `active`: the incidents `/` lists now, for
    an event that may take its incident off `/` or bring it back (see `moves_on_index`)."""

    incident: IncidentHeader
    card: UpdateCard | None
    rumors: list[RumorEntry] | None = None
    cards: list[UpdateCard] | None = None
    active: list[IncidentHeader] | None = None


def moves_on_index(event: StreamEvent, card: UpdateCard | None) -> bool:
    """Whether `event` may take its incident off `/` (a resolution) or bring it back (a reopening,
    or its all-clear retracted). An open `/` cannot tell whether the incident is on it, so the
    frame of such an event replaces the whole list with the active incidents as a fresh load
    lists them."""
    if event.type is EventType.INCIDENT_RESOLVED:
        return True
    if event.type is not EventType.VERSION_PUBLISHED:
        return False
    return event.kind is VersionKind.REOPENING or (
        event.kind is VersionKind.RETRACTION
        and card is not None
        and card.first_kind is VersionKind.RESOLUTION
    )


class LiveRenderer:
    def __init__(self, templates: Templates, settings: Settings) -> None:
        self.env = templates.env
        self.settings = settings
        self.languages = Languages(settings.languages)

    def _blocks(self, template: str, blocks: list[str], lang: str, **context: Any) -> str:
        with in_language(lang):
            return render_blocks(self.env, template, blocks, **page_context(self.settings, lang), **context)

    def _page(self, template: str, lang: str, path: str | None, **context: Any) -> str:
        """A whole page; `path` (None for an error page) is where its other languages are."""
        with in_language(lang):
            return self.env.get_template(template).render(
                **page_context(self.settings, lang, path=path), **context
            )

    def incident_page(self, page: IncidentPage, lang: str) -> str:
        return self._page(
            INCIDENT_TEMPLATE,
            lang,
            f"/incidents/{page.incident.slug}",
            **_incident_context(page),
        )

    def index_page(self, page: IndexPage, lang: str) -> str:
        return self._page(INDEX_TEMPLATE, lang, "/", incidents=page.incidents, cursor=page.cursor)

    def not_found_page(self, lang: str) -> str:
        return self._page(NOT_FOUND_TEMPLATE, lang, None)

    def event_frames(self, event: StreamEvent, views: dict[str, EventView]) -> EventFrames:
        """The frames for `event` in every language of LANGUAGES. `views` says what it shows in
        each language it concerns (see `StreamEvent.concerns`); the others only move their cursor."""
        frames: dict[str, PageFrames] = {}
        unchanged: PageFrames | None = None
        for lang in self.languages.tags:
            view = views.get(lang)
            if view is not None:
                frames[lang] = self._language_frames(event, lang, view)
                continue
            if unchanged is None:
                html = self._blocks(INCIDENT_TEMPLATE, ["cursor"], lang, cursor=event.event_id, oob=True)
                unchanged = PageFrames(Frame.of(event.event_id, html), Frame.of(event.event_id, html))
            frames[lang] = unchanged
        return EventFrames(event, frames)

    def _language_frames(self, event: StreamEvent, lang: str, view: EventView) -> PageFrames:
        incident, card = view.incident, view.card
        common = {"event": event, "incident": incident, "card": card, "cursor": event.event_id, "oob": True}
        if view.rumors is not None:
            # A rumor response changes its incident's rumor control section; the index only
            # moves its cursor (rumor responses are not on it).
            rumor = next((entry for entry in view.rumors if entry.rumor.id == event.rumor_id), None)
            incident_html = self._blocks(
                INCIDENT_TEMPLATE,
                ["cursor", "rumors", "announcement"],
                lang,
                rumors=view.rumors,
                rumor=rumor,
                **common,
            )
            index_html = self._blocks(INDEX_TEMPLATE, ["cursor"], lang, **common)
            return PageFrames(Frame.of(event.event_id, incident_html), Frame.of(event.event_id, index_html))
        # The title changes only with the incident's details; the rest of the header on any event.
        details = event.type is EventType.INCIDENT_DETAILS_CHANGED
        title = ["document_title", "incident_title"] if details else []
        blocks = [
            "cursor",
            *title,
            "what_to_do_now",
            "incident_status",
            "latest_change",
            "incident_summary",
            *(["incident_area"] if details else []),
            "timeline_empty",
        ]
        if card is not None:
            blocks.append("timeline_item")
        # Switched between real, exercise and test: every update's EXERCISE/TEST label changes,
        # so the whole timeline goes, as a fresh load shows it.
        relabelled = view.cards is not None
        if relabelled:
            blocks += ["timeline", "timeline_more"]
        limit = self.settings.public_timeline_limit
        # A new update at the top pushes the one `limit` places below it off the page, which
        # keeps an open page the newest `limit` updates, as a fresh load shows them, and its
        # "newest N of M" note true (seq numbers an incident's updates without gaps).
        dropped = card.seq - limit if event.is_new_update and card is not None else 0
        if event.is_new_update:
            blocks.append("timeline_more")
        incident_html = self._blocks(
            INCIDENT_TEMPLATE,
            [*blocks, "announcement"],
            lang,
            placement="top" if event.is_new_update else None if relabelled else "replace",
            cards=view.cards or [],
            update_count=incident.update_count,
            shown=min(incident.update_count, limit),
            dropped=f"item-update-{dropped}" if dropped > 0 else None,
            **common,
        )
        return PageFrames(
            Frame.of(event.event_id, incident_html),
            Frame.of(event.event_id, self._index_html(event, lang, view)),
        )

    def _index_html(self, event: StreamEvent, lang: str, view: EventView) -> str:
        """The frame for `/`. Only active incidents are listed there, and the page may have been
        loaded before or after the incident was resolved: a resolution or reopening replaces the
        whole list; any other event of a resolved incident changes nothing but the live region
        (its incident is not on a fresh `/`, and the "no active incidents" notice stays as it is)."""
        incident, card = view.incident, view.card
        common = {"event": event, "incident": incident, "card": card, "cursor": event.event_id, "oob": True}
        if view.active is not None:
            return self._blocks(
                INDEX_TEMPLATE,
                ["cursor", "incidents", "incidents_empty", "announcement"],
                lang,
                incidents=view.active,
                placement=None,
                **common,
            )
        if incident.resolved:
            return self._blocks(INDEX_TEMPLATE, ["cursor", "announcement"], lang, **common)
        created = event.type is EventType.INCIDENT_CREATED
        return self._blocks(
            INDEX_TEMPLATE,
            ["cursor", "incident_entry", "incidents_empty", "announcement"],
            lang,
            placement="top" if created else "replace",
            incidents=[incident],
            **common,
        )

    def incident_reset(self, page: IncidentPage, lang: str) -> Frame:
        """The whole live part of an incident page, for a client too far behind to replay."""
        html = self._blocks(
            INCIDENT_TEMPLATE,
            [
                "cursor",
                "document_title",
                "incident_title",
                "what_to_do_now",
                "incident_status",
                "latest_change",
                "incident_summary",
                "incident_area",
                "rumors",
                "timeline",
                "timeline_empty",
                "timeline_more",
            ],
            lang,
            **_incident_context(page),
            oob=True,
            reset=True,
        )
        return Frame.of(page.cursor, html + _announce(lang), reset=True)

    def index_reset(self, page: IndexPage, lang: str) -> Frame:
        html = self._blocks(
            INDEX_TEMPLATE,
            ["cursor", "incidents", "incidents_empty"],
            lang,
            incidents=page.incidents,
            cursor=page.cursor,
            oob=True,
            reset=True,
        )
        return Frame.of(page.cursor, html + _announce(lang), reset=True)


def _incident_context(page: IncidentPage) -> dict[str, Any]:
    """What an incident page shows: loaded whole, and again when a reset frame replaces it."""
    return {
        "incident": page.incident,
        "cards": page.cards,
        "update_count": page.incident.update_count,
        "shown": len(page.cards),
        "cursor": page.cursor,
        "rumors": page.rumors,
    }


def _announce(lang: str) -> str:
    with in_language(lang):
        text = gettext("This page was brought up to date.")
    return f'<div data-hx-swap-oob="beforeend:#live-announcer"><p>{escape(text)}</p></div>'
