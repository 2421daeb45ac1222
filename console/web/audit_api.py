"""The audit log for reviewers: GET /api/v1/audit, /api/v1/audit.csv and /api/v1/audit/chain.

Bearer token of a reviewer or admin account (declared AUDITOR): a pio token is refused with
403, as the issue opens the audit view to reviewers and admins.
The console's /console/audit page renders the same domain functions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from console.csvfile import csv_text
from console.domain import audit_log
from console.domain.actors import Actor
from console.domain.errors import InvalidInput
from console.domain.exports import audit_head
from console.web.access import Access, access
from console.web.bearer import TOKEN
from console.web.state import AppState, app_state

FILTERS = ("actor", "action", "incident", "since", "until", "hide_deliveries")
CSV_BATCH = 1000
INT_MAX = 2**31 - 1
DIGITS = re.compile(r"[0-9]+")


def whole_number(
    request: Request, name: str, default: int | None, low: int, high: int, *, empty_is_absent: bool = False
) -> int | None:
    """The query parameter `name` as a whole number from `low` to `high`, `default` when absent.
    `empty_is_absent`: an empty value counts as absent (a console form's empty field); in the
    API an empty value is refused like any other that is not a number."""
    raw = request.query_params.get(name)
    if raw is None or (raw == "" and empty_is_absent):
        return default
    if not DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidInput({name: f"must be a whole number from {low} to {high}"})
    return int(raw)


def query_of(request: Request, session: Session, *, empty_is_absent: bool = False) -> audit_log.AuditQuery:
    """The filters of the query string. `empty_is_absent`: an empty field filters nothing (a
    console form sends every field); in the API an empty filter is refused like any malformed one."""
    params = {name: request.query_params.get(name) for name in FILTERS}
    if empty_is_absent:
        params = {name: value or None for name, value in params.items()}
    return audit_log.parse_query(session, zone=app_state(request).settings.zone, **params)


def paging_of(request: Request) -> tuple[int | None, int]:
    """`before` and `limit` of the query string (the API's: an empty value is refused)."""
    before = whole_number(request, "before", None, 1, INT_MAX)
    limit = whole_number(request, "limit", audit_log.PAGE_DEFAULT, 1, audit_log.PAGE_MAX)
    assert limit is not None
    return before, limit


@access(Access.AUDITOR, TOKEN)
async def audit_events(request: Request, _auditor: Actor) -> Response:
    before, limit = paging_of(request)

    def work(session: Session) -> dict[str, Any]:
        page = audit_log.audit_page(session, query_of(request, session), before=before, limit=limit)
        return {"events": page.events, "next_before": page.next_before, "head": audit_head(session)}

    return JSONResponse(await app_state(request).read(work))


@access(Access.AUDITOR, TOKEN)
async def audit_csv(request: Request, _auditor: Actor) -> Response:
    state = app_state(request)
    # Every event is exported, so `before` and `limit` page nothing here; but a malformed one is
    # refused as GET /api/v1/audit refuses it, rather than silently ignored.
    paging_of(request)
    # Filters are checked before the answer starts, so a mistake is a 422, not a broken download.
    query = await state.read(lambda session: query_of(request, session))
    return csv_response(state, query)


def csv_response(state: AppState, query: audit_log.AuditQuery) -> StreamingResponse:
    """Every event matching `query` as CSV, newest first, streamed batch by batch."""

    def batch(session: Session, before: int | None) -> tuple[str, int | None]:
        page = audit_log.audit_page(session, query, before=before, limit=CSV_BATCH)
        return csv_text([audit_log.csv_row(event) for event in page.events]), page.next_before

    async def chunks() -> AsyncIterator[str]:
        # Events are immutable and paged by sequence number, so reading batch by batch, each
        # in a short transaction, gives the same rows as one long read would.
        yield csv_text([list(audit_log.CSV_COLUMNS)])
        before: int | None = None
        while True:
            text, before = await state.read(functools.partial(batch, before=before))
            yield text
            if before is None:
                return

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"},
    )


@access(Access.AUDITOR, TOKEN)
async def audit_chain(request: Request, _auditor: Actor) -> Response:
    status = await app_state(request).read(audit_log.chain_status)
    return JSONResponse(status, headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/audit", audit_events, methods=["GET"]),
        Route("/audit.csv", audit_csv, methods=["GET"]),
        Route("/audit/chain", audit_chain, methods=["GET"]),
    ]
