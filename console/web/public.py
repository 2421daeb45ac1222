"""The residents' pages (`/`, `/incidents/{slug}`), an alert's link to one update
(`/incidents/{slug}/updates/{seq}`) and their websocket (`/live`).

Pages come from memory (see `console.live.pages`) with an ETag, Last-Modified and a short
public Cache-Control, so a CDN in front can absorb a flash crowd and revalidate cheaply;
conditional requests get 304. They are gzipped once, when rendered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Awaitable, Mapping
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from console.domain import wording
from console.domain.actors import Actor
from console.domain.public import IncidentPage
from console.domain.updates import update_exists
from console.languages import Languages
from console.live.client import TRY_AGAIN_LATER, LiveClient
from console.live.pages import CachedPage
from console.live.stream import LiveStream
from console.settings import Settings
from console.web.access import Access, access
from console.web.bearer import TOKEN
from console.web.encoding import accepts_gzip, gzip_etag
from console.web.language import PageLanguage, page_language, remember_choice
from console.web.lasting import continue_outside
from console.web.resident_sockets import frame_writer
from console.web.state import app_state

log = logging.getLogger("console.web.public")

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")
NOT_A_SLUG = "-"
MAX_EVENT_ID = 2**63 - 1

# Close codes (RFC 6455): the client should not retry these as they are.
POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003
MESSAGE_TOO_BIG = 1009
HELLO = '{"last_event_id": <integer>}'


def _not_modified(request: Request, page: CachedPage, etag: str) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        # Weak comparison, and either representation's tag: they name the same content.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or bool(tags & {page.etag, etag})
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and page.last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and page.last_modified.replace(microsecond=0) <= since
    return False


def public_cache_control(cache_seconds: int) -> str:
    """Short, public and revalidated: a CDN may serve it to everyone for a few seconds, and may
    keep serving the last good copy if this server is down."""
    return f"public, max-age={cache_seconds}, stale-while-revalidate={cache_seconds}, stale-if-error=3600"


def page_response(request: Request, page: CachedPage, cache_seconds: int) -> Response:
    gzipped = accepts_gzip(request.headers)
    etag = gzip_etag(page.etag) if gzipped else page.etag
    headers = {
        # The page's live connection resumes from the page's own cursor, so a cached copy is
        # never left behind.
        "Cache-Control": public_cache_control(cache_seconds),
        "Vary": "Accept-Encoding",
        "ETag": etag,
    }
    if page.last_modified is not None:
        headers["Last-Modified"] = format_datetime(page.last_modified, usegmt=True)
    if page.status == 200 and _not_modified(request, page, etag):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(
        page.gzipped if gzipped else page.body,
        status_code=page.status,
        media_type="text/html; charset=utf-8",
        headers=headers,
    )


def localized_response(request: Request, page: CachedPage, chosen: PageLanguage) -> Response:
    """A page in the reader's language: says which, and remembers a choice made with `?lang=`."""
    state = app_state(request)
    response = page_response(request, page, state.settings.public_cache_seconds)
    response.headers["Content-Language"] = chosen.lang
    if len(state.settings.languages) == 1:
        return response
    if not chosen.from_query:  # negotiated: caches must tell readers apart
        response.headers["Vary"] = "Accept-Encoding, Accept-Language, Cookie"
    remember_choice(response, request, chosen, secure=state.settings.cookies_secure)
    return response


@access(Access.PUBLIC)
async def index(request: Request) -> Response:
    state = app_state(request)
    chosen = page_language(request, state.languages)
    return localized_response(request, await state.live.pages.index(chosen.lang), chosen)


@access(Access.PUBLIC)
async def incident(request: Request) -> Response:
    state = app_state(request)
    slug = request.path_params["slug"]
    chosen = page_language(request, state.languages)
    # Anything that cannot be a slug shares one cached 404 page instead of a query each.
    page = await state.live.pages.incident(slug if SLUG.fullmatch(slug) else NOT_A_SLUG, chosen.lang)
    return localized_response(request, page, chosen)


@access(Access.PUBLIC)
async def update_link(request: Request) -> Response:
    """The link an alert gives to update `seq` (`wording.stable_update_url`): 303 to it on the
    incident's page while the page lists it (its newest PUBLIC_TIMELINE_LIMIT), else to it in
    the incident's history, each with the `?lang=` the link has. No JavaScript needed."""
    state = app_state(request)
    slug, seq = request.path_params["slug"], request.path_params["seq"]
    chosen = page_language(request, state.languages)
    page = await state.live.pages.incident(slug if SLUG.fullmatch(slug) else NOT_A_SLUG, chosen.lang)
    if page.status != 200 or not isinstance(page.model, IncidentPage):
        return localized_response(request, page, chosen)  # no such incident: its 404 page
    shown = [card.seq for card in page.model.cards]  # the newest, a run of consecutive numbers
    if shown and 1 <= seq < min(shown):
        on_page = False
    elif seq in shown or await state.read(lambda session: update_exists(session, slug, seq)):
        on_page = True  # newer than the page in memory, which is being rendered again
    else:
        raise HTTPException(404)
    lang = chosen.lang if chosen.from_query else None
    if on_page:
        location = wording.update_url("", slug, seq, lang)
    else:
        location = wording.history_url("", slug, seq, lang=lang)
    cache = public_cache_control(state.settings.public_cache_seconds)
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": cache})


class Refused(Exception):
    """A websocket request or message we do not serve: a close code (or, before the
    handshake, an HTTP status) with a reason a developer can act on."""

    def __init__(self, code: int, reason: str, *, http_status: int = 400) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.http_status = http_status


def _language(params: QueryParams, languages: Languages) -> str | None:
    """The `lang` a live page asks for (None: not given)."""
    asked = params.get("lang")
    if asked is None:
        return None
    found = languages.find(asked)
    if found is None or len(params.getlist("lang")) > 1:
        raise Refused(POLICY_VIOLATION, f"lang must be one of {', '.join(languages.tags)}")
    return found


def _topic(params: QueryParams) -> str | None:
    unknown = set(params) - {"incident", "lang"}
    if unknown:
        raise Refused(POLICY_VIOLATION, f"unknown query parameter {sorted(unknown)[0]!r}")
    slug = params.get("incident")
    if slug is None:
        return None
    if len(params.getlist("incident")) > 1 or not SLUG.fullmatch(slug):
        raise Refused(POLICY_VIOLATION, "incident must be one incident's slug")
    return slug


def parse_hello(message: Mapping[str, Any], max_bytes: int) -> int:
    """The client's first message: the last event id it has seen, e.g. {"last_event_id": 42}."""
    if message.get("bytes") is not None:
        raise Refused(UNSUPPORTED_DATA, "binary messages are not accepted")
    text = message.get("text")
    if not isinstance(text, str):
        raise Refused(POLICY_VIOLATION, f"expected {HELLO}")
    if len(text.encode("utf-8")) > max_bytes:
        raise Refused(MESSAGE_TOO_BIG, f"messages are limited to {max_bytes} bytes")
    try:
        data = json.loads(text)
    except ValueError:
        raise Refused(POLICY_VIOLATION, f"not JSON; expected {HELLO}") from None
    if not isinstance(data, dict) or set(data) != {"last_event_id"}:
        raise Refused(POLICY_VIOLATION, f"expected {HELLO}")
    value = data["last_event_id"]
    if type(value) is not int or not 0 <= value <= MAX_EVENT_ID:
        raise Refused(POLICY_VIOLATION, "last_event_id must be an integer, 0 or more")
    return value


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close(code, reason)


@access(Access.PUBLIC)
async def live_socket(websocket: WebSocket) -> None:
    """`/live` (every incident) or `/live?incident={slug}`, with `&lang=` the page's language:
    pushed HTML frames, resumable.

    The client's first message is `{"last_event_id": N}` (0 for "everything you have");
    the server answers with what was missed, then every new event as it happens.
    """
    state = app_state(websocket)
    settings, live = state.settings, state.live
    try:
        topic = _topic(websocket.query_params)
        lang = (
            _language(websocket.query_params, state.languages)
            or page_language(websocket, state.languages).lang
        )
        if topic is not None and not await live.incident_exists(topic):
            raise Refused(POLICY_VIOLATION, f"no incident {topic!r}", http_status=404)
    except Refused as refused:
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(
                PlainTextResponse(refused.reason, status_code=refused.http_status)
            )
        else:  # the server cannot answer a handshake with a response of ours: a plain 403
            await websocket.close(refused.code, refused.reason)
        return
    await websocket.accept()
    client = LiveClient(
        websocket.send,
        topic=topic,
        lang=lang,
        max_buffered=settings.live_send_buffer,
        on_drop=live.dropped,
        write=frame_writer(websocket.scope),
    )
    live.attach(client)  # before reading what was missed: nothing falls in between
    following = False
    try:
        following = await _guarded(websocket, _catch_up(websocket, client, live, settings))
    finally:
        if not following:
            live.detach(client)
    if following:
        continue_outside(websocket.scope, _listen(websocket, client, live))


async def _guarded(websocket: WebSocket, work: Awaitable[bool]) -> bool:
    """What `work` returns, or False once the socket is closed or gone."""
    try:
        return await work
    except Refused as refused:
        await _close(websocket, refused.code, refused.reason)
    except SQLAlchemyError as exc:  # the database is restarting: come back and resume
        log.warning("live client closed, the database is not answering: %s", exc)
        await _close(websocket, TRY_AGAIN_LATER, "the server is busy; reconnect to resume")
    except WebSocketDisconnect:
        pass
    return False


async def _catch_up(websocket: WebSocket, client: LiveClient, live: LiveStream, settings: Settings) -> bool:
    """The client's hello, and what it missed; True if it is still connected."""
    try:
        async with asyncio.timeout(settings.live_hello_seconds):
            first = await websocket.receive()
    except TimeoutError:
        raise Refused(POLICY_VIOLATION, f"send {HELLO} first") from None
    if first["type"] == "websocket.disconnect":
        return False
    after = parse_hello(first, settings.live_max_message_bytes)
    plan = await live.resume(client.topic, after, client.lang)
    await client.replay(after, plan.frames, timeout=settings.live_hello_seconds)
    return True


async def _listen(websocket: WebSocket, client: LiveClient, live: LiveStream) -> None:
    """The rest of the connection, outside the middleware stack (`console.web.lasting`):
    frames go out from the live stream; the client has nothing more to say. One coroutine,
    for it waits as long as the resident stays."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if not client.dropped:
                await _close(websocket, POLICY_VIOLATION, "no messages are expected after the first")
                return
    finally:
        live.detach(client)


@access(Access.READER, TOKEN)
async def live_status(request: Request, _reader: Actor) -> Response:
    """This process's live stream: how many residents are connected, and how far it has got."""
    state = app_state(request)
    live = state.live
    return JSONResponse(
        {
            "pid": os.getpid(),
            "broadcast": live.bus.backend,
            "topic": live.bus.topic,
            "channel": live.bus.topic,  # the former name of "topic", kept for existing scripts
            "broadcast_reconnections": live.bus.broadcast.reconnections,
            "position": live.position,
            "subscribers": live.subscriber_count,
            "dropped_slow": live.dropped_slow,
            "page_renders": live.pages.renders,
        },
        headers={"Cache-Control": "no-store"},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        Route("/incidents/{slug}", incident, methods=["GET"]),
        Route("/incidents/{slug}/updates/{seq:int}", update_link, methods=["GET"]),
        WebSocketRoute("/live", live_socket),
    ]


def api_routes() -> list[BaseRoute]:
    """Mounted under /api/v1."""
    return [Route("/live", live_status, methods=["GET"])]
