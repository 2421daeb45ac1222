"""HTML for the live pages and for the frames pushed to them, from the same template blocks.

A frame is a handful of top-level elements that htmx's ws extension swaps out of band:
the cursor first (live.js reads its event id to drop a frame it has already shown), then
what changed, then a sentence for the `aria-live` region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2_fragments import render_blocks
from markupsafe import escape

from console.domain.public import IncidentHeader, IncidentPage, IndexPage
from console.domain.stream import StreamEvent
from console.domain.timeline import UpdateCard
from console.models import EventType
from console.settings import Settings
from console.web.templating import Templates

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


@dataclass(frozen=True)
class EventFrames:
    """An event rendered for both kinds of page: its own incident's, and the index."""

    event: StreamEvent
    incident: Frame
    index: Frame

    @property
    def event_id(self) -> int:
        return self.event.event_id

    def for_topic(self, topic: str | None) -> Frame:
        return self.index if topic is None else self.incident


class LiveRenderer:
    def __init__(self, templates: Templates, settings: Settings) -> None:
        self.env = templates.env
        self.settings = settings

    def _blocks(self, template: str, blocks: list[str], **context: Any) -> str:
        return render_blocks(self.env, template, blocks, settings=self.settings, **context)

    def incident_page(self, page: IncidentPage) -> str:
        return self.env.get_template(INCIDENT_TEMPLATE).render(
            settings=self.settings,
            incident=page.incident,
            cards=page.cards,
            update_count=page.incident.update_count,
            cursor=page.cursor,
        )

    def index_page(self, page: IndexPage) -> str:
        return self.env.get_template(INDEX_TEMPLATE).render(
            settings=self.settings, incidents=page.incidents, cursor=page.cursor
        )

    def not_found_page(self) -> str:
        return self.env.get_template(NOT_FOUND_TEMPLATE).render(settings=self.settings)

    def event_frames(
        self, event: StreamEvent, incident: IncidentHeader, card: UpdateCard | None
    ) -> EventFrames:
        """The frames for `event`, showing `incident` and the event's update (`card`) as they are now."""
        common = {"event": event, "incident": incident, "card": card, "cursor": event.event_id, "oob": True}
        blocks = ["cursor", "incident_status", "timeline_empty"]
        if card is not None:
            blocks.append("timeline_item")
        incident_html = self._blocks(
            INCIDENT_TEMPLATE,
            [*blocks, "announcement"],
            placement="top" if event.is_new_update else "replace",
            update_count=incident.update_count,
            **common,
        )
        created = event.type is EventType.INCIDENT_CREATED
        index_html = self._blocks(
            INDEX_TEMPLATE,
            ["cursor", "incident_entry", "incidents_empty", "announcement"],
            placement="top" if created else "replace",
            incidents=[incident],
            **common,
        )
        return EventFrames(
            event, Frame.of(event.event_id, incident_html), Frame.of(event.event_id, index_html)
        )

    def incident_reset(self, page: IncidentPage) -> Frame:
        """The whole live part of an incident page, for a client too far behind to replay."""
        html = self._blocks(
            INCIDENT_TEMPLATE,
            ["cursor", "incident_status", "timeline", "timeline_empty"],
            incident=page.incident,
            cards=page.cards,
            update_count=page.incident.update_count,
            cursor=page.cursor,
            oob=True,
            reset=True,
        )
        return Frame.of(page.cursor, html + _announce("This page was brought up to date."), reset=True)

    def index_reset(self, page: IndexPage) -> Frame:
        html = self._blocks(
            INDEX_TEMPLATE,
            ["cursor", "incidents", "incidents_empty"],
            incidents=page.incidents,
            cursor=page.cursor,
            oob=True,
            reset=True,
        )
        return Frame.of(page.cursor, html + _announce("This page was brought up to date."), reset=True)


def _announce(text: str) -> str:
    return f'<div hx-swap-oob="innerHTML:#live-announcer">{escape(text)}</div>'
