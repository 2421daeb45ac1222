"""The feed files over HTTP, exactly as the `feeds` channel wrote them into FEEDS_DIR.

Nothing is rendered per request: a request costs one stat() of the file, and the bytes,
their strong ETag (a hash of the content) and their modification time are kept in memory
until the file changes. Conditional requests get 304. A client that accepts gzip gets the
bytes gzipped, compressed once per file version (`Vary: Accept-Encoding`; the gzipped
representation's ETag ends in `-gzip"`).

Last-Modified has a one-second resolution, so a file rewritten twice within one second
would show two contents under one date, and a newsroom polling with If-Modified-Since
could miss a correction. The date is therefore only given once its second has passed (the
ETag is always given): every date handed out names exactly one content.

Right after a publication every client of a feed finds it changed at once. The first one
reads the new file; those who come while it is read get the version before it, as the live
pages do while they render (a complete file with its own validators, what they would have
got a few milliseconds earlier), instead of queueing behind the read (issue 20).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from functools import cached_property
from hashlib import sha256
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.channels.feeds import FeedsChannel
from console.domain.errors import NotFound
from console.domain.incidents import NO_INCIDENT
from console.feeds.paths import (
    CAP_INDEX,
    UPDATES_ATOM,
    UPDATES_RSS,
    Target,
    cap_message,
    incident_atom,
    incident_rss,
    is_slug,
    updates_atom,
    updates_rss,
)
from console.feeds.writer import FeedFiles
from console.settings import Settings
from console.web.access import Access, access
from console.web.encoding import accepts_gzip, gzip_body, gzip_etag
from console.web.state import app_state

log = logging.getLogger("console.web.feeds")
CACHE_CONTROL = "public, max-age=30"
CACHED_FILES = 256
NS_PER_SECOND = 1_000_000_000

Endpoint = Callable[[Request], Awaitable[Response]]


RawHeaders = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class FeedFile:
    """One file's bytes and everything a response needs, computed once per file version."""

    identity: tuple[int, int, int, int]  # device, inode, size, mtime: a rename gives a new one
    body: bytes
    etag: str
    modified_second: int
    media_type: str

    @cached_property
    def last_modified(self) -> str:
        return formatdate(self.modified_second, usegmt=True)

    @cached_property
    def gzipped(self) -> bytes:
        """The body gzipped: once per file version, on the first request that accepts it."""
        return gzip_body(self.body)

    def _headers(self, status: int, dated: bool, gzipped: bool) -> RawHeaders:
        key = (status, dated, gzipped)
        encoded = self._encoded_headers.get(key)
        if encoded is None:
            headers = {
                "etag": gzip_etag(self.etag) if gzipped else self.etag,
                "cache-control": CACHE_CONTROL,
                "vary": "Accept-Encoding",
            }
            if dated:
                headers["last-modified"] = self.last_modified
            if status == 200:
                headers["content-type"] = f"{self.media_type}; charset=utf-8"
                if gzipped:
                    headers["content-encoding"] = "gzip"
                headers["content-length"] = str(len(self.gzipped if gzipped else self.body))
            encoded = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
            self._encoded_headers[key] = encoded
        return encoded

    @cached_property
    def _encoded_headers(self) -> dict[tuple[int, bool, bool], RawHeaders]:
        return {}

    def response(self, status: int, dated: bool, gzipped: bool = False) -> Response:
        body = (self.gzipped if gzipped else self.body) if status == 200 else b""
        return PreparedResponse(status, body, self._headers(status, dated, gzipped))


class PreparedResponse(Response):
    """A response whose headers were encoded once, when the file was read (the hot path)."""

    def __init__(self, status_code: int, body: bytes, raw_headers: RawHeaders) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = list(raw_headers)  # a copy: middleware adds to the list it is sent


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def read_feed_file(path: str | Path, media_type: str) -> FeedFile | None:
    """The file's bytes and validators, or None if it does not exist."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())  # of the very file read, even if it is replaced now
            body = handle.read()
    except FileNotFoundError:
        return None
    etag = f'"{sha256(body).hexdigest()[:32]}"'
    return FeedFile(_identity(stat), body, etag, stat.st_mtime_ns // NS_PER_SECOND, media_type)


class FeedFileCache:
    """Recently read files, each checked against the disk with one stat() per request. When
    full, the file read longest ago goes first (the hot feeds are simply read again)."""

    def __init__(self, capacity: int = CACHED_FILES) -> None:
        self.capacity = capacity
        self._files: dict[str, FeedFile] = {}

    def kept(self, path: str) -> FeedFile | None:
        """The version read last, whether or not the file changed since."""
        return self._files.get(path)

    def fresh(self, path: str) -> FeedFile | None:
        cached = self._files.get(path)
        if cached is None:
            return None
        try:
            current = _identity(os.stat(path))
        except FileNotFoundError:
            return None
        return cached if current == cached.identity else None

    def keep(self, path: str, feed: FeedFile) -> None:
        self._files.pop(path, None)
        self._files[path] = feed
        while len(self._files) > self.capacity:
            del self._files[next(iter(self._files))]


def is_dated(feed: FeedFile, now: float) -> bool:
    """Whether to send Last-Modified: only once the file's second is over."""
    return feed.modified_second < int(now)


def _conditions(scope_headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """If-None-Match and If-Modified-Since, read straight from the ASGI scope (this is the hot path)."""
    if_none_match = if_modified_since = None
    for name, value in scope_headers:
        if name == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif name == b"if-modified-since":
            if_modified_since = value.decode("latin-1")
    return if_none_match, if_modified_since


def _takes_gzip(scope_headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in scope_headers:
        if name == b"accept-encoding":
            return accepts_gzip(Headers({"accept-encoding": value.decode("latin-1")}))
    return False


def is_not_modified(
    if_none_match: str | None, if_modified_since: str | None, feed: FeedFile, dated: bool
) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if if_none_match is not None:
        # either representation's tag: they name the same content
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or feed.etag in tags or gzip_etag(feed.etag) in tags
    if if_modified_since is None or not dated:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an unreadable date is ignored, as the RFC says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return feed.modified_second <= since.timestamp()


def feed_response(request: Request, feed: FeedFile, *, now: float | None = None) -> Response:
    dated = is_dated(feed, time.time() if now is None else now)
    headers = request.scope["headers"]
    not_modified = is_not_modified(*_conditions(headers), feed, dated)
    return feed.response(304 if not_modified else 200, dated, _takes_gzip(headers))


NO_FILE = "no feed or CAP message at this address"


def _not_found(message: str) -> Response:
    return PlainTextResponse(message, status_code=404, headers={"Cache-Control": "no-store"})


class FeedServer:
    """Serves the feed files of one app. Its settings are taken from the app on the first
    request (they are read once and never change), its paths worked out once per file."""

    def __init__(self) -> None:
        self.cache = FeedFileCache()
        self._settings: Settings | None = None
        self._enabled = False
        self._paths: dict[Target, str] = {}
        self._reading: dict[str, asyncio.Future[FeedFile | None]] = {}

    def _path_of(self, settings: Settings, target: Target) -> str:
        path = self._paths.get(target)
        if path is None:
            if len(self._paths) >= CACHED_FILES:
                self._paths.clear()
            path = self._paths[target] = str(target.file_in(settings.feeds_dir))
        return path

    async def serve(self, request: Request, target: Target) -> Response:
        settings = self._settings or self._remember(request)
        if not self._enabled:
            return _not_found("feeds are switched off on this server (CHANNELS does not include feeds)")
        path = self._path_of(settings, target)
        feed = self.cache.fresh(path)
        if feed is None:
            previous = self.cache.kept(path) if path in self._reading else None
            if previous is not None:  # the new version is being read for someone else
                return feed_response(request, previous)
            feed = await self._read_once(path, target.media_type)
            if feed is None:  # a fresh install, or files lost: render this one once and keep it
                try:
                    feed = await self._create(request, target, path)
                except NotFound as exc:
                    return _not_found(exc.message)
                except OSError as exc:  # disk full, permissions: say so, and when to come back
                    log.error("could not write %s: %s", path, exc)
                    message = f"the feed file could not be written ({exc.strerror or exc}); try again shortly"
                    return PlainTextResponse(
                        message, status_code=503, headers={"Retry-After": "30", "Cache-Control": "no-store"}
                    )
            self.cache.keep(path, feed)
        return feed_response(request, feed)

    async def _read_once(self, path: str, media_type: str) -> FeedFile | None:
        """Read the file, or join the read of it already under way."""
        pending = self._reading.get(path)
        if pending is None:
            pending = asyncio.ensure_future(run_in_threadpool(read_feed_file, path, media_type))
            self._reading[path] = pending
            pending.add_done_callback(lambda done: self._forget(path, done))
        return await asyncio.shield(pending)

    def _forget(self, path: str, done: asyncio.Future[FeedFile | None]) -> None:
        if self._reading.get(path) is done:
            del self._reading[path]

    def _remember(self, request: Request) -> Settings:
        settings = self._settings = app_state(request).settings
        self._enabled = FeedsChannel.name in settings.channels
        return settings

    async def _create(self, request: Request, target: Target, path: str) -> FeedFile:
        """Render and write a missing file (NotFound if there is nothing to render), then read it."""
        state = app_state(request)
        files = FeedFiles(state.settings)
        await state.read(lambda session: files.ensure(session, target))
        feed = await run_in_threadpool(read_feed_file, path, target.media_type)
        if feed is None:
            raise RuntimeError(f"{path} is still missing after it was written")
        return feed


def routes() -> list[BaseRoute]:
    server = FeedServer()

    def fixed(target: Target) -> Endpoint:
        @access(Access.PUBLIC)
        async def endpoint(request: Request) -> Response:
            return await server.serve(request, target)

        return endpoint

    def per_incident(make: Callable[[Request], Target]) -> Endpoint:
        @access(Access.PUBLIC)
        async def endpoint(request: Request) -> Response:
            try:
                target = make(request)
            except ValueError:  # not a slug the console could have made, or a revision r0
                return _not_found(NO_FILE if is_slug(slug(request)) else NO_INCIDENT)
            if target.url_path != request.url.path:  # 01-1.xml: another spelling of 1-1.xml
                return RedirectResponse(target.url_path, status_code=301)
            return await server.serve(request, target)

        return endpoint

    def slug(request: Request) -> str:
        value: str = request.path_params["slug"]
        return value

    def in_language(make: Callable[[Request, str], Target]) -> Endpoint:
        """A feed at /feeds/{lang}/...: `lang` one of LANGUAGES (another spelling of one, such as
        `ES`, is redirected to the configured one)."""

        @access(Access.PUBLIC)
        async def endpoint(request: Request) -> Response:
            asked: str = request.path_params["lang"]
            languages = app_state(request).languages
            lang = languages.find(asked)
            if lang is None:
                here = ", ".join(languages.tags)
                return _not_found(f"no feeds in that language: the feeds here are in {here} (LANGUAGES)")
            try:
                target = make(request, lang)
            except ValueError:  # not a slug the console could have made
                return _not_found(NO_INCIDENT)
            if lang != asked:
                return RedirectResponse(target.url_path, status_code=301)
            return await server.serve(request, target)

        return endpoint

    return [
        Route("/feeds/updates.atom", fixed(UPDATES_ATOM), methods=["GET", "HEAD"]),
        Route("/feeds/updates.rss", fixed(UPDATES_RSS), methods=["GET", "HEAD"]),
        Route("/feeds/cap.atom", fixed(CAP_INDEX), methods=["GET", "HEAD"]),
        Route(
            "/incidents/{slug}/feed.atom",
            per_incident(lambda request: incident_atom(slug(request))),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/incidents/{slug}/feed.rss",
            per_incident(lambda request: incident_rss(slug(request))),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/incidents/{slug}/cap/{seq:int}-{version:int}.xml",
            per_incident(
                lambda request: cap_message(
                    slug(request), request.path_params["seq"], request.path_params["version"]
                )
            ),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/incidents/{slug}/cap/{seq:int}-{version:int}-r{revision:int}.xml",
            per_incident(
                lambda request: cap_message(
                    slug(request),
                    request.path_params["seq"],
                    request.path_params["version"],
                    request.path_params["revision"],
                )
            ),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/feeds/{lang}/updates.atom",
            in_language(lambda request, lang: updates_atom(lang)),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/feeds/{lang}/updates.rss",
            in_language(lambda request, lang: updates_rss(lang)),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/feeds/{lang}/incidents/{slug}/feed.atom",
            in_language(lambda request, lang: incident_atom(slug(request), lang)),
            methods=["GET", "HEAD"],
        ),
        Route(
            "/feeds/{lang}/incidents/{slug}/feed.rss",
            in_language(lambda request, lang: incident_rss(slug(request), lang)),
            methods=["GET", "HEAD"],
        ),
    ]
