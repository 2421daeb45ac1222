"""While no client follows the live stream, it reads the new events without rendering them; a
client that comes later is sent what it missed, rendered then, and a client that comes while
events are being read is offered them as they go out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from console.db import Database
from console.domain import stream
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.live.bus import LiveBus
from console.live.render import EventFrames, Frame, LiveRenderer
from console.live.stream import LiveStream
from console.settings import Settings
from console.templating import make_templates
from tests.conftest import PIO


class CountingRenderer(LiveRenderer):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.rendered: list[int] = []

    def event_frames(self, event: Any, views: Any) -> EventFrames:
        self.rendered.append(event.event_id)
        return super().event_frames(event, views)


class Listener:
    """Stands in for a websocket client: keeps the frames it is offered."""

    topic: str | None = None
    lang: str | None = None

    def __init__(self) -> None:
        self.offered: list[Frame] = []

    def offer(self, frame: Frame) -> None:
        self.offered.append(frame)


@pytest.fixture
def live_stream(settings: Settings, db: Database) -> Iterator[LiveStream]:
    renderer = CountingRenderer(make_templates(settings), settings)
    live = LiveStream.build(settings, db, LiveBus.from_settings(settings), renderer)
    yield live
    live.close()


def publish_three(db: Database, routing: Routing) -> list[int]:
    """An incident and two updates: the ids of their three public events."""
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        for n in range(2):
            publish_update(session, PIO, incident.slug, Draft(body=f"Update {n}"), routing=routing)
    with db.read() as session:
        events = [event.event_id for event in stream.events_after(session, 0, limit=10)]
    assert len(events) == 3
    return events


def renderer_of(live: LiveStream) -> CountingRenderer:
    assert isinstance(live.renderer, CountingRenderer)
    return live.renderer


def test_events_nobody_follows_are_read_not_rendered_and_replayed_rendered_later(
    live_stream: LiveStream, db: Database, routing: Routing
) -> None:
    events = publish_three(db, routing)

    async def scenario() -> list[int]:
        await live_stream.catch_up()
        assert live_stream.position == events[-1]
        assert renderer_of(live_stream).rendered == []
        live_stream.ready.set()  # as `run` does once it knows where to start (here: at 0)
        resumed = await live_stream.resume(None, 0)
        return [frame.event_id for frame in resumed.frames]

    assert asyncio.run(scenario()) == events
    assert renderer_of(live_stream).rendered == events  # once each, when a client asked


def test_a_client_that_comes_while_the_events_are_read_is_offered_them(
    live_stream: LiveStream, db: Database, routing: Routing
) -> None:
    events = publish_three(db, routing)
    listener = Listener()
    reading = live_stream._read_and_render

    def read_while_a_client_comes(after: int, limit: int, render: bool) -> Any:
        read = reading(after, limit, render)
        live_stream.attach(listener)  # type: ignore[arg-type]  # (the test's loop is waiting on this read)
        return read

    live_stream._read_and_render = read_while_a_client_comes  # type: ignore[method-assign]
    asyncio.run(live_stream.catch_up())
    assert [frame.event_id for frame in listener.offered] == events
    assert renderer_of(live_stream).rendered == events


def test_a_client_following_has_each_event_rendered_once(
    live_stream: LiveStream, db: Database, routing: Routing
) -> None:
    listener = Listener()
    live_stream.attach(listener)  # type: ignore[arg-type]
    events = publish_three(db, routing)
    asyncio.run(live_stream.catch_up())
    assert [frame.event_id for frame in listener.offered] == events
    assert renderer_of(live_stream).rendered == events
