"""The application factory: `uvicorn --factory console.web.app:create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles

from console import logs
from console.agency import LOGO_PATH
from console.channels.registry import build_channels, routing
from console.db import Database
from console.dispatcher import Dispatcher
from console.feeds.cap_signing import CapSigner
from console.i18n import in_language
from console.keyset import KeyFile, KeySetError
from console.live.bus import LiveBus
from console.live.render import LiveRenderer
from console.live.stream import LiveStream
from console.settings import Settings, SettingsError
from console.signed_head import HeadSigner
from console.templating import make_templates, page_context
from console.web import (
    api,
    archive,
    audit_api,
    channels_api,
    exports,
    feeds,
    incidents_api,
    media,
    openapi,
    public,
    push_routes,
    resident_sockets,
    rumors_api,
    rumors_page,
    signatures,
    sms_inbound,
    staff,
    subscribe_page,
    templates_api,
    verify_page,
    webhooks_api,
)
from console.web.access import Access, access
from console.web.agency_logo import agency_logo
from console.web.favicon import favicon
from console.web.handshakes import RefusedHandshakes, install_filter
from console.web.health import healthz
from console.web.jsonio import error_response
from console.web.language import page_language
from console.web.lasting import LastingConnections
from console.web.methods import allow_header
from console.web.middleware import (
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
    security_headers,
    websocket_origin,
)
from console.web.rate_limit import RateLimit
from console.web.state import AppState, app_state

log = logging.getLogger("console.web")
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


SHUTDOWN_GRACE_SECONDS = 10


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `console serve` passes to uvicorn for the residents' websockets."""
    return {
        "ws": resident_sockets.IMPORT_PATH,
        # Per-connection compression state costs tens of KB a client; frames are small HTML.
        "ws_per_message_deflate": False,
        "ws_max_size": settings.live_max_message_bytes,
        "ws_ping_interval": settings.live_ping_seconds,
        "ws_ping_timeout": settings.live_ping_seconds,
        # A log line per request costs a tenth of a worker's CPU in a flash crowd (bench/load);
        # the proxy or CDN in front of the public pages logs requests.
        "access_log": False,
        # On shutdown uvicorn waits for every open request and websocket to end, and only then
        # stops the app (and its outbox dispatcher): a client that never lets go must not keep
        # a stopping server half alive, still claiming deliveries.
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }


# Every collection stops the whole process, pushes and page requests alike, for as long as it
# walks its generations. Measured in CPU time on 1.5 million long-lived objects (10,000
# residents' websockets) and a crowd's garbage (issue 20): at (50_000, 20, 20) the young
# collections paused 24 ms and the middle ones 60 to 87 ms; at these, 2 and 9 ms, for less
# collecting in all. Full collections (a quarter of a second over all the websockets) come
# after a hundred middle ones, and only once the old objects grew by a quarter: while
# residents connect, seldom after.
GC_THRESHOLDS = (10_000, 10, 100)


def tune_garbage_collector() -> None:
    """Python's default thresholds (700, 10, 10) walk the old websockets' objects every few
    hundred thousand allocations; collect in short pauses instead, and leave the objects built
    at start-up out of it for good."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": allow_header(request.app.routes, request.url.path)}
    if _wants_json(request):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, exc.detail, headers=exc.headers)
    if exc.status_code == 404 and _resident_browsing(request):
        return _public_page(request, "public/not_found.html", 404, {"missing_page": True})
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def _resident_browsing(request: Request) -> bool:
    """A browser asking for a public page (a mistyped or cut link): it gets a page in the
    reader's language, not a bare English line. Feed readers, scripts and the console keep theirs."""
    return (
        request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith("/console")
    )


def _public_page(request: Request, template: str, status_code: int, extra: dict[str, Any]) -> Response:
    """An error page of the public site in the reader's language, never kept by a cache."""
    state = app_state(request)
    lang = page_language(request, state.languages).lang
    with in_language(lang):
        return state.templates.TemplateResponse(
            request,
            template,
            {**page_context(state.settings, lang), "settings": state.settings, **extra},
            status_code=status_code,
            headers={"Cache-Control": "no-store", "Content-Language": lang},
        )


async def database_unavailable(request: Request, exc: Exception) -> Response:
    # A restarting or locked database is a temporary condition: say so, and when to retry.
    # no-store: a CDN must not keep the error in place of the page (it may serve a stale copy).
    log.warning("database unavailable: %s", exc)
    message = "the database is not answering; try again in a few seconds"
    if _wants_json(request):
        headers = {"Retry-After": "5", "Cache-Control": "no-store"}
        return error_response(503, "unavailable", message, headers=headers)
    page = _public_page(request, "public/unavailable.html", 503, {})  # a resident's, in their language
    page.headers["Retry-After"] = "5"
    return page


async def connections_returned(db: Database, timeout: float = 5.0) -> None:
    """Wait for database calls still running in threads (a cancelled outbox lane's, say) to
    give their connections back: disposing the engine first would leave them open."""
    deadline = asyncio.get_running_loop().time() + timeout
    while db.engine.pool.checkedout() and asyncio.get_running_loop().time() < deadline:  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)


def load_key_file(settings: Settings) -> KeyFile:
    """SIGNING_KEY_FILE, read now: a server without its signing key does not start."""
    try:
        return KeyFile(settings.signing_key_file)
    except KeySetError as exc:
        raise SettingsError(str(exc)) from exc


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Route(LOGO_PATH, agency_logo, methods=["GET", "HEAD"]),
        *media.routes(),
        Mount(
            "/api/v1",
            app=Router(
                api.routes()
                + incidents_api.routes()
                + channels_api.routes()
                + audit_api.routes()
                + rumors_api.routes()
                + public.api_routes()
                + webhooks_api.routes()
                + templates_api.routes()
                + media.api_routes()
                + openapi.routes()
            ),
        ),
        *staff.routes(),
        # Before any /incidents/{slug} route: "/incidents/x.json" would match that one too.
        *exports.routes(),
        *archive.routes(),
        *signatures.routes(),
        *verify_page.routes(),
        *subscribe_page.routes(),
        *sms_inbound.routes(),
        *push_routes.routes(),
        *rumors_page.routes(),
        *feeds.routes(),
        *public.routes(),
        Mount(
            "/static",
            app=access(Access.PUBLIC)(GZipMiddleware(StaticFiles(directory=STATIC_DIR), compresslevel=6)),
            name="static",
        ),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_environ()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        keys = load_key_file(settings)
        install_filter()
        db = Database(settings.database_url, signer=keys)
        bus = LiveBus.from_settings(settings)
        templates = make_templates(settings)
        live = LiveStream.build(settings, db, bus, LiveRenderer(templates, settings))
        state = AppState(
            settings=settings,
            db=db,
            bus=bus,
            routing=routing(settings),
            dispatcher=Dispatcher.from_settings(
                settings, db, build_channels(settings, db, bus), residents_first=live.quiet
            ),
            templates=templates,
            live=live,
            keys=keys,
            heads=HeadSigner(lambda: keys.keys),
            cap_signer=CapSigner.from_settings(settings),
            subscribe_ip_limit=RateLimit(settings.subscribe_ip_limit, 3600.0),
        )
        tasks = [asyncio.create_task(state.live.run(), name="live-stream")]
        dispatching = None
        if settings.outbox_in_process:
            dispatching = asyncio.create_task(state.dispatcher.run(), name="outbox-dispatcher")
        try:
            yield {"app_state": state}
        finally:
            if dispatching is not None:  # first: the deliveries it records still reach the broadcast
                try:
                    await state.dispatcher.finish(dispatching)
                except Exception:  # it had failed: say so, and close the rest all the same
                    log.exception("the outbox dispatcher had stopped with an error")
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await bus.close()
            # Database work those tasks started in threads finishes before the engine goes.
            await asyncio.to_thread(state.live.close)
            await asyncio.get_running_loop().shutdown_default_executor()
            await connections_returned(db)
            db.dispose()

    return Starlette(
        routes=routes(),
        middleware=[
            Middleware(LastingConnections),
            Middleware(RefusedHandshakes),
            Middleware(
                SecurityHeadersMiddleware, headers=security_headers([websocket_origin(settings.public_url)])
            ),
            Middleware(
                BodySizeLimitMiddleware,
                max_bytes=settings.max_request_bytes,
                uploads={
                    path: media.upload_limit(settings.media_max_bytes)
                    for path in (media.MEDIA_PATH, staff.media_upload.UPLOAD_PATH)
                },
            ),
        ],
        exception_handlers={
            HTTPException: http_error,
            OperationalError: database_unavailable,
        },
        lifespan=lifespan,
    )


# Database calls run in threads, and each round trip needs the GIL back from an event loop
# busy serving a crowd: at Python's default 5 ms hand-over a ten-query publication took 0.2 to
# 0.5 s next to a busy loop instead of 20 ms idle; at 1 ms, a fraction of that (README, Flash
# crowd benchmark).
SWITCH_INTERVAL_SECONDS = 0.001


def tune_interpreter() -> None:
    """What `console serve` and `create_server_app` do to the server process before serving."""
    tune_garbage_collector()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def create_server_app() -> Starlette:
    """The factory for uvicorn's command line (the Procfile's `web:` line): `create_app` with
    the logging and interpreter tuning `console serve` applies, in each worker process."""
    logs.configure()
    app = create_app()
    tune_interpreter()
    return app
