"""GET /healthz, for load balancers and operators.

`database`: 503 when the database does not answer, was never migrated, or is at an older
migration (the release step skipped, an older backup restored): the console could then neither
publish nor serve a page. Otherwise "ok".

`broadcast`: whether the pub/sub between server processes (BROADCAST_URL) answers now, asked on
a connection of its own with a short timeout (BROADCAST_CHECK_SECONDS, 1 s), so that a Redis that
drops packets cannot hold /healthz up: "ok", "not answering", or "in-process" for memory://
(nothing to ask). /healthz is public and unauthenticated: one check at a time is made, and its
answer is given to every request for BROADCAST_ANSWER_KEPT seconds, so a flood of /healthz
opens one connection to Redis or PostgreSQL every few seconds, not one per request (PostgreSQL
would otherwise run out of connections, the console's own included). A broadcast that does
not answer makes `status` "degraded" but keeps 200: residents still get every update through
the database poll (LIVE_POLL_SECONDS), only later, and a 503 would take every instance out of
rotation at once and turn a slower live page into an outage. `status` is then "ok", "degraded"
or "unavailable" (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.live.postgres_backend import PostgresBackend
from console.migrate import schema_problem, schema_revision_quickly
from console.web.access import Access, access
from console.web.state import app_state

NO_STORE = {"Cache-Control": "no-store"}
# How long the broadcast has to answer. Every step has its own timeout at this; the whole check
# is cut off at twice it whatever happens.
BROADCAST_CHECK_SECONDS = 1.0
# How long one check's answer is given to every /healthz: a flood asks the broadcast no more.
BROADCAST_ANSWER_KEPT = 5.0
IN_PROCESS = "in-process"
NOT_ANSWERING = "not answering"


async def _ping_redis(url: str) -> None:
    client = Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=BROADCAST_CHECK_SECONDS,
        socket_timeout=BROADCAST_CHECK_SECONDS,
    )
    try:
        await client.ping()
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


async def _ping_postgres(url: str) -> None:
    backend = PostgresBackend(url)
    try:
        await backend.connect()
    finally:
        with contextlib.suppress(Exception):
            await backend.disconnect()


async def broadcast_status(url: str) -> str:
    """ "ok", "not answering", or "in-process" (memory://): never raises, never takes much more
    than BROADCAST_CHECK_SECONDS."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return IN_PROCESS
    ping = _ping_redis if scheme in ("redis", "rediss") else _ping_postgres
    try:
        await asyncio.wait_for(ping(url), timeout=2 * BROADCAST_CHECK_SECONDS)
    except Exception:  # refused, timed out, refused our password: all the same to a load balancer
        return NOT_ANSWERING
    return "ok"


class BroadcastCheck:
    """`broadcast_status`, at most one at a time, its answer kept BROADCAST_ANSWER_KEPT seconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._answer = ""
        self._answered_at = -math.inf
        self._running: asyncio.Future[str] | None = None

    async def status(self) -> str:
        if time.monotonic() - self._answered_at < BROADCAST_ANSWER_KEPT:
            return self._answer
        running = self._running
        if running is None or running.done() or running.get_loop() is not asyncio.get_running_loop():
            running = self._running = asyncio.ensure_future(self._check())
        # Shielded: a client that goes away does not cancel the check the others wait for.
        return await asyncio.shield(running)

    async def _check(self) -> str:
        answer = await broadcast_status(self.url)
        self._answer, self._answered_at = answer, time.monotonic()
        return answer


def _broadcast_check(request: Request) -> BroadcastCheck:
    url = app_state(request).settings.broadcast_url
    check: BroadcastCheck | None = getattr(request.app.state, "broadcast_check", None)
    if check is None or check.url != url:
        check = request.app.state.broadcast_check = BroadcastCheck(url)
    return check


async def _database_problem(request: Request) -> str | None:
    try:
        revision = await run_in_threadpool(schema_revision_quickly, app_state(request).db)
    except SQLAlchemyError:
        return "not answering"
    return schema_problem(revision)


@access(Access.PUBLIC)
async def healthz(request: Request) -> Response:
    problem, broadcast = await asyncio.gather(_database_problem(request), _broadcast_check(request).status())
    if problem is not None:
        return JSONResponse(
            {"status": "unavailable", "database": problem, "broadcast": broadcast},
            status_code=503,
            headers=NO_STORE,
        )
    status = "degraded" if broadcast == NOT_ANSWERING else "ok"
    return JSONResponse({"status": status, "database": "ok", "broadcast": broadcast}, headers=NO_STORE)
