"""Public exports: /incidents/{slug}.json, /incidents/{slug}/history.csv, /archive.jsonl.

The JSON Lines export streams the whole archive in batches, each read in its own short
transaction, so memory stays flat however large the archive is and no read holds the
database for the length of a slow download. Each line is one incident's complete record,
consistent in itself; `audit_head` on every line is the head when the export started.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from console.csvfile import csv_text
from console.domain import exports, history
from console.domain.errors import NotFound
from console.models import utcnow
from console.signed_head import HEAD_PATH, KEYS_PATH
from console.web.access import Access, access
from console.web.state import app_state

JSONL_BATCH = 100
CACHE = {"Cache-Control": "public, max-age=30"}


def _json(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, indent=indent, allow_nan=False)


def signing_links(public_url: str) -> dict[str, str]:
    """Where to get what proves an export: the agency's keys and its signed audit chain head."""
    return {"keys": public_url + KEYS_PATH, "audit_head": public_url + HEAD_PATH}


def _missing(message: str) -> Response:
    return Response(
        _json({"error": {"code": "not_found", "message": message}}),
        status_code=404,
        media_type="application/json",
    )


@access(Access.PUBLIC)
async def incident_json(request: Request) -> Response:
    slug = request.path_params["slug"]
    now = utcnow()
    try:
        languages = app_state(request).languages
        record = await app_state(request).read(
            lambda session: exports.public_record(session, slug, now=now, languages=languages)
        )
    except NotFound as exc:
        return _missing(exc.message)
    record = {**record, "signing": signing_links(app_state(request).settings.public_url)}
    return Response(_json(record, indent=2) + "\n", media_type="application/json", headers=CACHE)


@access(Access.PUBLIC)
async def history_csv(request: Request) -> Response:
    slug = request.path_params["slug"]

    def work(session: Session) -> str:
        exports.read_consistently(session)
        record = history.incident_history(session, slug)
        return csv_text(
            exports.history_rows(record, exports.audit_head(session)), exports.HISTORY_CSV_COLUMNS
        )

    try:
        content = await app_state(request).read(work)
    except NotFound as exc:
        return _missing(exc.message)
    headers = {**CACHE, "Content-Disposition": f'attachment; filename="{slug}-history.csv"'}
    return Response(content, media_type="text/csv; charset=utf-8", headers=headers)


@access(Access.PUBLIC)
async def archive_jsonl(request: Request) -> Response:
    state = app_state(request)
    started = utcnow().isoformat()

    def batch(
        session: Session, *, after_id: int, head: dict[str, Any] | None
    ) -> tuple[list[str], int, dict[str, Any]]:
        exports.read_consistently(session)
        head = head or exports.audit_head(session)
        incidents = exports.incidents_after(session, after_id, JSONL_BATCH)
        links = signing_links(state.settings.public_url)
        lines = [
            _json(
                {
                    "format": exports.EXPORT_FORMAT,
                    **record,
                    "audit_head": head,
                    "exported_at": started,
                    "signing": links,
                }
            )
            + "\n"
            for record in exports.public_records(session, incidents, languages=state.languages)
        ]
        return lines, incidents[-1].id if incidents else after_id, head

    async def lines() -> AsyncIterator[str]:
        after_id, head = 0, None
        while True:
            chunk, after_id, head = await state.read(functools.partial(batch, after_id=after_id, head=head))
            if not chunk:
                return
            yield "".join(chunk)

    return StreamingResponse(lines(), media_type="application/x-ndjson; charset=utf-8")


def routes() -> list[BaseRoute]:
    return [
        Route("/archive.jsonl", archive_jsonl, methods=["GET"]),
        Route("/incidents/{slug}.json", incident_json, methods=["GET"]),
        Route("/incidents/{slug}/history.csv", history_csv, methods=["GET"]),
    ]
