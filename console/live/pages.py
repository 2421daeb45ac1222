"""The public pages, rendered once and served from memory until an event changes them.

A flash crowd (a link in a post seen by a whole city) must not turn into one database
query per request. Each page is rendered from one database snapshot together with the
stream position it reflects (its cursor); the live stream, which sees every event in
every process, records which incident each event changed, and a page is current as long as
nothing it shows changed after its cursor. Concurrent misses share one rendering.

Right after a publication the whole crowd finds its page changed at once. The first reader
waits for the new rendering; readers who arrive while it runs get the page as it was a
moment before (what they would have got had they come a few milliseconds earlier), instead
of queueing behind it. That page carries its own cursor, so its live socket replays what
came after it: nobody misses the update, and no request waits for a rendering another one
started (issue 20's page p99 during publications).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from console.db import Database
from console.domain import public, stream
from console.domain.errors import NotFound
from console.languages import Languages
from console.live.reading import Threads, snapshot
from console.live.render import Frame, LiveRenderer
from console.settings import Settings

MAX_PAGES = 512
Key = tuple[str | None, str]  # (incident slug, or None for the index; language)
GZIP_LEVEL = 6


@dataclass
class CachedPage:
    scope: str | None  # the incident's slug, or None for the index
    lang: str  # the language of LANGUAGES it is rendered in
    status: int
    body: bytes
    gzipped: bytes
    etag: str  # of the uncompressed body; "-gzip" is appended for the compressed one
    last_modified: datetime | None
    cursor: int
    model: public.IncidentPage | public.IndexPage | None
    reset: Frame | None = field(default=None, repr=False)  # rendered when first needed


def _page(
    scope: str | None,
    lang: str,
    status: int,
    html: str,
    cursor: int,
    last_modified: datetime | None,
    model: public.IncidentPage | public.IndexPage | None,
) -> CachedPage:
    body = html.encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()[:32]
    return CachedPage(
        scope=scope,
        lang=lang,
        status=status,
        body=body,
        gzipped=gzip.compress(body, GZIP_LEVEL, mtime=0),
        etag=f'"{digest}"',
        last_modified=last_modified,
        cursor=cursor,
        model=model,
    )


class PublicPages:
    def __init__(self, db: Database, renderer: LiveRenderer, settings: Settings, threads: Threads) -> None:
        self.db = db
        self.threads = threads
        self.renderer = renderer
        self.timeline_limit = settings.public_timeline_limit
        self.languages = Languages(settings.languages)
        # Keyed by (incident slug or None for the index, language).
        self._pages: OrderedDict[Key, CachedPage] = OrderedDict()
        self._missing: OrderedDict[Key, CachedPage] = OrderedDict()
        self._rendering: dict[Key, asyncio.Future[CachedPage]] = {}
        self._changed: dict[str, int] = {}  # slug -> the newest event id that changed that incident
        self._newest = 0  # the newest event id seen: every event changes the index
        self.renders = 0

    def changed(self, slug: str, event_id: int) -> None:
        """The live stream saw event `event_id` of incident `slug` (in every process)."""
        self._changed[slug] = max(event_id, self._changed.get(slug, 0))
        self._newest = max(event_id, self._newest)

    def _current(self, page: CachedPage) -> bool:
        if page.scope is None:
            return page.cursor >= self._newest
        return page.cursor >= self._changed.get(page.scope, 0)

    async def index(self, lang: str | None = None) -> CachedPage:
        """The index page for a reader: while a newer one renders, the one before it."""
        return await self._get((None, lang or self.languages.primary), previous_while_rendering=True)

    async def incident(self, slug: str, lang: str | None = None) -> CachedPage:
        """The incident's page for a reader (while a newer one renders, the one before it), or a
        404 page (also cached, until an incident with that slug appears; never served late)."""
        return await self._get((slug, lang or self.languages.primary), previous_while_rendering=True)

    async def _get(self, key: Key, *, previous_while_rendering: bool = False) -> CachedPage:
        for pages in (self._pages, self._missing):
            page = pages.get(key)
            if page is not None and self._current(page):
                pages.move_to_end(key)
                return page
        if previous_while_rendering and key in self._rendering:
            previous = self._pages.get(key)
            if previous is not None:
                return previous
        return await self._render_once(key)

    async def _render_once(self, key: Key) -> CachedPage:
        pending = self._rendering.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._render(key))
            self._rendering[key] = pending
            pending.add_done_callback(lambda _: self._rendering.pop(key, None))
        return await asyncio.shield(pending)

    async def _render(self, key: Key) -> CachedPage:
        page = await self.threads.run(self._read_and_render, *key)
        self.renders += 1
        # 404s are kept apart, so that requests for made-up slugs never push real pages out.
        pages = self._pages if page.status == 200 else self._missing
        for other in (self._pages, self._missing):
            other.pop(key, None)
        pages[key] = page
        while len(pages) > MAX_PAGES:
            pages.popitem(last=False)
        return page

    def _read_and_render(self, scope: str | None, lang: str) -> CachedPage:
        languages = self.languages
        with snapshot(self.db) as session:
            if scope is None:
                index = public.index_page(session, lang=lang, languages=languages)
                html = self.renderer.index_page(index, lang)
                return _page(None, lang, 200, html, index.cursor, index.last_modified, index)
            cursor = stream.head(session)
            try:
                page = public.incident_page(
                    session, scope, limit=self.timeline_limit, lang=lang, languages=languages
                )
            except NotFound:
                return _page(scope, lang, 404, self.renderer.not_found_page(lang), cursor, None, None)
        html = self.renderer.incident_page(page, lang)
        return _page(scope, lang, 200, html, page.cursor, page.last_modified, page)

    async def reset_frame(self, scope: str | None, lang: str | None = None) -> Frame | None:
        """The frame that replaces a page's whole live part (None if there is no such page)."""
        page = await self._get((scope, lang or self.languages.primary))
        if page.reset is None and page.model is not None:
            page.reset = await self.threads.run(self._render_reset, page.model, page.lang)
        return page.reset

    def _render_reset(self, model: public.IncidentPage | public.IndexPage, lang: str) -> Frame:
        if isinstance(model, public.IncidentPage):
            return self.renderer.incident_reset(model, lang)
        return self.renderer.index_reset(model, lang)
