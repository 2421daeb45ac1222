"""The live stream of one server process: every public event, in order, pushed to this
process's websocket clients.

The broadcast only says "something happened". The stream then reads every event after
the last one it handled from the database, in id order (gap-free: writes are serialized),
renders each event's frames once, marks the pages it changed, and offers the frames to its
clients. It also reads the database every LIVE_POLL_SECONDS and after every broadcast
reconnection, so a lost message delays an event by seconds at worst, and never loses it.

A (re)connecting client sends the last event id it saw; `resume` reads what it missed from
the database and replays it exactly once, in order, or, if it missed more than
LIVE_RESUME_MAX_EVENTS, sends a fresh render of its page instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from console.db import Database
from console.domain import public, stream
from console.domain.details_versions import switched_alert_status
from console.domain.incidents import get_incident
from console.domain.rumors import RumorEntry
from console.domain.stream import StreamEvent
from console.domain.timeline import UpdateCard, incident_cards
from console.live.bus import LiveBus, LiveMessage, Subscription
from console.live.client import LiveClient
from console.live.pages import PublicPages
from console.live.reading import Threads, snapshot
from console.live.render import EventFrames, EventView, Frame, LiveRenderer, moves_on_index
from console.models import EventType
from console.settings import Settings

log = logging.getLogger("console.live.stream")

BATCH = 200  # events read and rendered at a time while catching up
RENDERED_KEPT = 1024  # rendered events kept for resuming clients
MAX_RESUMES_KEPT = 4096  # distinct resume points answered since the last event
RETRY_SECONDS = 1.0
# Clients offered a frame between two returns to the event loop: a push to 10,000 clients then
# holds the loop for a slice's sends at a time (a few milliseconds), not all of them, and the
# requests that arrive meanwhile (pages, feeds) are answered in between. In bench/load, 500
# left page and feed p99 at 70 to 200 ms; 200 brings them under 50 with push p99 under 0.5 s
# (issue 20).
OFFER_SLICE = 200


@dataclass(frozen=True)
class Resume:
    frames: list[Frame]  # to send, in order
    reset: bool  # the client was too far behind (or ahead): its page is replaced whole


class LiveStream:
    def __init__(
        self,
        db: Database,
        bus: LiveBus,
        renderer: LiveRenderer,
        pages: PublicPages,
        *,
        poll_seconds: float,
        resume_max_events: int,
        send_buffer: int,
        keepalive_seconds: float,
    ) -> None:
        self.db = db
        self.bus = bus
        self.renderer = renderer
        self.pages = pages
        self.threads = pages.threads
        self.poll_seconds = poll_seconds
        self.resume_max_events = resume_max_events
        self.send_buffer = send_buffer
        self.keepalive_seconds = keepalive_seconds
        self.position = 0  # every event up to here has been offered to the clients
        self.ready = asyncio.Event()
        # Set while nothing committed or announced is left to offer to the clients.
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._wake = asyncio.Event()
        # Insertion-ordered (a dict, not a set): the fan-out then visits clients in the order
        # they connected, which is roughly the order their objects sit in memory.
        # Keyed by (topic, language): each client gets the frames of its page's language.
        self._clients: dict[tuple[str | None, str], dict[LiveClient, None]] = defaultdict(dict)
        self._rendered: OrderedDict[int, EventFrames] = OrderedDict()
        self._resumes: dict[tuple[str | None, str, int], asyncio.Future[Resume]] = {}
        self.languages = renderer.languages
        self._known_slugs: set[str] = set()
        self.dropped_slow = 0

    @classmethod
    def build(cls, settings: Settings, db: Database, bus: LiveBus, renderer: LiveRenderer) -> LiveStream:
        threads = Threads()
        return cls(
            db,
            bus,
            renderer,
            PublicPages(db, renderer, settings, threads),
            poll_seconds=settings.live_poll_seconds,
            resume_max_events=settings.live_resume_max_events,
            send_buffer=settings.live_send_buffer,
            keepalive_seconds=settings.live_ping_seconds,
        )

    @property
    def subscriber_count(self) -> int:
        return sum(len(clients) for clients in self._clients.values())

    # --- following the events -------------------------------------------------------------

    async def run(self) -> None:
        async with self.bus.subscribe() as subscription:
            self.position = await self._retrying(lambda: self.threads.run(self._head))
            self.ready.set()
            listener = asyncio.create_task(self._listen(subscription), name="live-stream-listener")
            keepalive = asyncio.create_task(self._keep_alive(), name="live-stream-keepalive")
            try:
                while True:
                    with contextlib.suppress(TimeoutError):  # no news: look at the database anyway
                        async with asyncio.timeout(self.poll_seconds):
                            await self._wake.wait()
                    self._wake.clear()  # before reading: news arriving meanwhile wakes us again
                    try:
                        await self.catch_up()
                    except Exception:
                        log.exception("live stream could not read new events; retrying")
                        await asyncio.sleep(RETRY_SECONDS)
                    else:
                        if not self._wake.is_set():
                            self._quiet.set()
            finally:
                listener.cancel()
                keepalive.cancel()

    async def _listen(self, subscription: Subscription) -> None:
        while True:
            received = await subscription.get()
            if not isinstance(received, LiveMessage) or received.event_id > self.position:
                self._news()

    async def _keep_alive(self) -> None:
        """Every `keepalive_seconds`, tell each client its connection is alive."""
        while True:
            await asyncio.sleep(self.keepalive_seconds)
            told = 0
            for clients in list(self._clients.values()):
                for client in list(clients):
                    client.keepalive()
                    told += 1
                    if told % OFFER_SLICE == 0:
                        await asyncio.sleep(0)

    def poke(self) -> None:
        """Something was just committed in this process: read it now, without waiting for the
        broadcast to bring it back."""
        self._news()

    def _news(self) -> None:
        self._quiet.clear()
        self._wake.set()

    async def quiet(self) -> None:
        """Returns once what was committed in this process or announced by the broadcast has
        been offered to the clients (the outbox's other channels wait for it)."""
        await self._quiet.wait()

    async def _retrying(self, work: Callable[[], Awaitable[int]]) -> int:
        while True:
            try:
                return await work()
            except Exception:
                log.exception("live stream could not reach the database; retrying")
                await asyncio.sleep(RETRY_SECONDS)

    def _head(self) -> int:
        with self.db.read() as session:
            return stream.head(session)

    async def catch_up(self) -> None:
        """Offer every event after `position`, in order, to the clients. While there are none, the
        events are read but not rendered: a client that comes later has what it missed rendered
        by `resume`."""
        while True:
            render = bool(self._clients)
            events, batch = await self.threads.run(self._read_and_render, self.position, BATCH, render)
            if not render and self._clients:  # a client came while they were read: offer it them
                batch = await self.threads.run(self._render_events, events)
            for event, frames in itertools.zip_longest(events, batch):
                await self._handled(event, frames)
            if len(events) < BATCH:
                return

    async def _handled(self, event: StreamEvent, frames: EventFrames | None) -> None:
        self.pages.changed(event.incident_slug, event.event_id)
        self._known_slugs.add(event.incident_slug)
        # A resume computed before this event is out of date; one computed from here on reads
        # it, so a client attached while the frames go out in slices (and so not offered
        # them) gets it in its replay. A client offered it as well is sent it once (its cursor).
        self._resumes.clear()
        if frames is not None:
            self._remember(frames)
            await self._offer(frames)
        self.position = event.event_id

    async def _offer(self, frames: EventFrames) -> None:
        event = frames.event
        offered = 0
        for lang, page_frames in frames.languages.items():
            for key, frame in (
                ((None, lang), page_frames.index),
                ((event.incident_slug, lang), page_frames.incident),
            ):
                for client in list(self._clients.get(key, ())):
                    client.offer(frame)
                    offered += 1
                    if offered % OFFER_SLICE == 0:
                        await asyncio.sleep(0)

    def _remember(self, frames: EventFrames) -> None:
        self._rendered[frames.event_id] = frames
        while len(self._rendered) > RENDERED_KEPT:
            self._rendered.popitem(last=False)

    def _read_and_render(
        self, after: int, limit: int, render: bool
    ) -> tuple[list[StreamEvent], list[EventFrames]]:
        with snapshot(self.db) as session:
            events = stream.events_after(session, after, limit=limit)
            return events, self._render(session, events) if render else []

    def _render(self, session: Session, events: list[StreamEvent]) -> list[EventFrames]:
        """Each event rendered once per language it concerns, whatever the number of clients."""
        headers: dict[tuple[str, str], public.IncidentHeader] = {}
        listed: dict[str, list[public.IncidentHeader]] = {}  # `/`'s incidents, by language
        languages = self.languages
        rendered = []
        for event in events:
            views: dict[str, EventView] = {}
            rumors: list[RumorEntry] | None = None  # the same in every language (each entry holds them all)
            relabelled = event.type is EventType.INCIDENT_DETAILS_CHANGED and switched_alert_status(
                session, event.incident_slug, event.occurred_at
            )
            for lang in languages.tags:
                if not event.concerns(lang):
                    continue
                header = headers.get((event.incident_slug, lang))
                if header is None:
                    header = headers[(event.incident_slug, lang)] = public.incident_header(
                        session, event.incident_slug, lang=lang, languages=languages
                    )
                if event.type is EventType.RUMOR_PUBLISHED:
                    if rumors is None:
                        rumors = public.incident_rumors(session, get_incident(session, event.incident_slug))
                    views[lang] = EventView(header, None, rumors)
                    continue
                card = (
                    public.update_card(
                        session, event.incident_slug, event.update_id, lang=lang, languages=languages
                    )
                    if event.update_id is not None
                    else None
                )
                active = None
                if moves_on_index(event, card):
                    active = listed.get(lang)
                    if active is None:
                        active = listed[lang] = public.index_page(
                            session, lang=lang, languages=languages
                        ).incidents
                cards = self._timeline(session, event.incident_slug, lang) if relabelled else None
                views[lang] = EventView(header, card, cards=cards, active=active)
            rendered.append(self.renderer.event_frames(event, views))
        return rendered

    def _timeline(self, session: Session, slug: str, lang: str) -> list[UpdateCard]:
        """The incident's updates as its page shows them now (the newest PUBLIC_TIMELINE_LIMIT)."""
        incident = get_incident(session, slug)
        cards = incident_cards(session, incident, lang=lang, languages=self.languages)
        return cards[: self.pages.timeline_limit]

    # --- clients ---------------------------------------------------------------------------

    async def incident_exists(self, slug: str) -> bool:
        if slug in self._known_slugs:
            return True
        page = await self.pages.incident(slug)  # cached, 404s included
        if page.status == 200:
            self._known_slugs.add(slug)
        return page.status == 200

    def _key(self, client: LiveClient) -> tuple[str | None, str]:
        return client.topic, client.lang or self.languages.primary

    def attach(self, client: LiveClient) -> None:
        """From now on the client is offered every live frame of its topic (held until resumed)."""
        self._clients[self._key(client)][client] = None

    def detach(self, client: LiveClient) -> None:
        key = self._key(client)
        clients = self._clients.get(key)
        if clients is not None:
            clients.pop(client, None)
            if not clients:
                del self._clients[key]

    def dropped(self, client: LiveClient) -> None:
        if client.too_slow:
            self.dropped_slow += 1
        log.info("dropped a live client of %s: %s", client.topic or "all incidents", client.drop_reason)
        self.detach(client)

    async def resume(self, topic: str | None, after: int, lang: str | None = None) -> Resume:
        """What a client of `topic` (reading in `lang`) that saw every event up to `after` has missed.

        Call it after `attach`: the live frames held since then cover everything newer than
        what this returns. Clients resuming from the same point share one database read.
        """
        await self.ready.wait()
        lang = lang or self.languages.primary
        key = (topic, lang, after)
        pending = self._resumes.get(key)
        if pending is None:
            if len(self._resumes) > MAX_RESUMES_KEPT:
                self._resumes.clear()
            pending = self._resumes[key] = asyncio.ensure_future(self._plan(topic, lang, after))
            pending.add_done_callback(lambda done: self._forget_failed(key, done))
        return await asyncio.shield(pending)

    def _forget_failed(self, key: tuple[str | None, str, int], done: asyncio.Future[Resume]) -> None:
        if (done.cancelled() or done.exception() is not None) and self._resumes.get(key) is done:
            del self._resumes[key]

    async def _plan(self, topic: str | None, lang: str, after: int) -> Resume:
        head, events = await self.threads.run(self._missed, topic, after)
        if after > head or len(events) > self.resume_max_events:
            # Ahead of the database (it was restored, or the id is made up) or too far behind.
            frame = await self.pages.reset_frame(topic, lang)
            return Resume([frame] if frame is not None else [], reset=True)
        rendered = {event.event_id: self._rendered.get(event.event_id) for event in events}
        missing = [event for event in events if rendered[event.event_id] is None]
        if missing:
            for frames in await self.threads.run(self._render_events, missing):
                self._remember(frames)
                rendered[frames.event_id] = frames
        return Resume(
            [frames.for_topic(topic, lang) for frames in rendered.values() if frames is not None], reset=False
        )

    def _missed(self, topic: str | None, after: int) -> tuple[int, list[StreamEvent]]:
        with snapshot(self.db) as session:
            head = stream.head(session)
            if after > head:
                return head, []
            limit = self.resume_max_events + 1
            return head, stream.events_after(session, after, incident_slug=topic, limit=limit)

    def close(self) -> None:
        """Wait for database work under way (call after cancelling `run`, before disposing the engine)."""
        self.threads.close()

    def _render_events(self, events: list[StreamEvent]) -> list[EventFrames]:
        with snapshot(self.db) as session:
            return self._render(session, events)
