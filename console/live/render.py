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
from console.models import EventType
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
    (for a rumor response: the incident's rumor responses)."""

    incident: IncidentHeader
    card: UpdateCard | None
    rumors: list[RumorEntry] | None = None


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
            incident=page.incident,
            cards=page.cards,
            update_count=page.incident.update_count,
            shown=len(page.cards),
            cursor=page.cursor,
            rumors=page.rumors,
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
        title = ["incident_title"] if details else []
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
            placement="top" if event.is_new_update else "replace",
            update_count=incident.update_count,
            shown=min(incident.update_count, limit),
            dropped=f"item-update-{dropped}" if dropped > 0 else None,
            **common,
        )
        created = event.type is EventType.INCIDENT_CREATED
        index_html = self._blocks(
            INDEX_TEMPLATE,
            ["cursor", "incident_entry", "incidents_empty", "announcement"],
            lang,
            placement="top" if created else "replace",
            incidents=[incident],
            **common,
        )
        return PageFrames(Frame.of(event.event_id, incident_html), Frame.of(event.event_id, index_html))

    def incident_reset(self, page: IncidentPage, lang: str) -> Frame:
        """The whole live part of an incident page, for a client too far behind to replay."""
        html = self._blocks(
            INCIDENT_TEMPLATE,
            [
                "cursor",
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
            incident=page.incident,
            cards=page.cards,
            update_count=page.incident.update_count,
            shown=len(page.cards),
            cursor=page.cursor,
            rumors=page.rumors,
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


def _announce(lang: str) -> str:
    with in_language(lang):
        text = gettext("This page was brought up to date.")
    return f'<div data-hx-swap-oob="beforeend:#live-announcer"><p>{escape(text)}</p></div>'
