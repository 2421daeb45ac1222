"""Public exports: /incidents/{slug}.json, /incidents/{slug}/history.csv, /archive.jsonl.

The JSON Lines export is built once per change of the archive (keyed by what is stored: the
audit chain head and the deliveries, so every web process names the same content by the
same key and ETag) and then served as bytes, gzipped once when a client takes gzip. It is
built in batches, each read in its own short transaction, so no read holds the database for
long. Each line is one incident's complete record, consistent in itself; `audit_head` on
every line is the head when the build started; `exported_at` is the time of the last change.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property
from hashlib import sha256
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console.csvfile import csv_text
from console.domain import exports, history
from console.domain.errors import NotFound
from console.domain.signing import Signer
from console.languages import Languages
from console.signed_head import signing_links
from console.web.access import Access, access
from console.web.encoding import accepts_gzip, gzip_body, gzip_etag
from console.web.state import AppState, app_state

JSONL_BATCH = 100
JSONL_TYPE = "application/x-ndjson; charset=utf-8"
CACHE = {"Cache-Control": "public, max-age=30"}


def _json(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, indent=indent, allow_nan=False)


def _missing(message: str) -> Response:
    return Response(
        _json({"error": {"code": "not_found", "message": message}}),
        status_code=404,
        media_type="application/json",
    )


class CompressedOnce:
    """Bodies built on each request (one incident: cheap) but gzipped once per content: the
    last `capacity` of them, by ETag and media type."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._bodies: dict[tuple[str, str], BuiltExport] = {}

    def keep(self, body: bytes, media_type: str) -> BuiltExport:
        built = BuiltExport(None, body, media_type)
        key = (built.etag, media_type)
        kept = self._bodies.pop(key, None) or built
        self._bodies[key] = kept
        while len(self._bodies) > self.capacity:
            del self._bodies[next(iter(self._bodies))]
        return kept


def incident_json_endpoint(bodies: CompressedOnce) -> Callable[[Request], Awaitable[Response]]:
    @access(Access.PUBLIC)
    async def incident_json(request: Request) -> Response:
        """The same bytes as the `archive` channel's file of the incident (`exports.record_document`).
        One incident's record is built per request, its `contents` signed in that build: Ed25519
        signatures are deterministic, so an unchanged record keeps its bytes and ETag."""
        slug = request.path_params["slug"]
        state = app_state(request)
        signing = signing_links(state.settings.public_url)
        try:
            record = await state.read(
                lambda session: exports.public_record(
                    session, slug, signing=signing, signer=state.db.signer, languages=state.languages
                )
            )
        except NotFound as exc:
            return _missing(exc.message)
        return export_response(request, bodies.keep(exports.record_document(record), "application/json"))

    return incident_json


def history_csv_endpoint(bodies: CompressedOnce) -> Callable[[Request], Awaitable[Response]]:
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
        built = bodies.keep(content.encode("utf-8"), "text/csv; charset=utf-8")
        return export_response(request, built, headers)

    return history_csv


def archive_lines(
    session: Session,
    *,
    after_id: int,
    head: dict[str, Any] | None,
    exported_at: str,
    public_url: str,
    languages: Languages,
    signer: Signer | None,
) -> tuple[list[str], int, dict[str, Any]]:
    """One batch of /archive.jsonl: the lines of the next JSONL_BATCH incidents after `after_id`,
    each line's `contents` signed here, while the export is built (never per request)."""
    exports.read_consistently(session)
    head = head or exports.audit_head(session)
    incidents = exports.incidents_after(session, after_id, JSONL_BATCH)
    links = signing_links(public_url)
    lines = [
        _json(exports.export_record(record, head=head, exported_at=exported_at, signing=links, signer=signer))
        + "\n"
        for record in exports.public_records(session, incidents, languages=languages)
    ]
    return lines, incidents[-1].id if incidents else after_id, head


async def build_archive_jsonl(state: AppState, version: exports.ArchiveVersion) -> bytes:
    """The whole archive as JSON Lines, read in batches (each its own short transaction)."""
    chunks: list[bytes] = []
    after_id, head = 0, None
    exported_at = version.changed_at.isoformat()
    while True:
        lines, after_id, head = await state.read(
            functools.partial(
                archive_lines,
                after_id=after_id,
                head=head,
                exported_at=exported_at,
                public_url=state.settings.public_url,
                languages=state.languages,
                signer=state.db.signer,
            )
        )
        if not lines:
            return b"".join(chunks)
        chunks.append("".join(lines).encode("utf-8"))


@dataclass(frozen=True)
class BuiltExport:
    """An export's bytes, built once per version of what it depends on."""

    key: Hashable
    body: bytes
    media_type: str

    @cached_property
    def etag(self) -> str:
        return f'"{sha256(self.body).hexdigest()[:32]}"'

    @cached_property
    def gzipped(self) -> bytes:
        return gzip_body(self.body)


class ExportCache:
    """The newest build of one export. Requests that find it stale share one build."""

    def __init__(self) -> None:
        self.built: BuiltExport | None = None
        self._building: dict[Hashable, asyncio.Future[BuiltExport]] = {}

    async def get(self, key: Hashable, build: Callable[[], Awaitable[BuiltExport]]) -> BuiltExport:
        if self.built is not None and self.built.key == key:
            return self.built
        pending = self._building.get(key)
        if pending is None:
            pending = asyncio.ensure_future(build())
            self._building[key] = pending
            pending.add_done_callback(lambda done: self._finish(key, done))
        return await asyncio.shield(pending)

    def _finish(self, key: Hashable, done: asyncio.Future[BuiltExport]) -> None:
        self._building.pop(key, None)
        if not done.cancelled() and done.exception() is None:
            self.built = done.result()


def export_response(request: Request, built: BuiltExport, headers: Mapping[str, str] = CACHE) -> Response:
    """`built` with its ETag (304 when the client has it), gzipped if the client takes gzip."""
    gzipped = accepts_gzip(request.headers)
    etag = gzip_etag(built.etag) if gzipped else built.etag
    sent = {**headers, "ETag": etag, "Vary": "Accept-Encoding"}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if "*" in tags or built.etag in tags or gzip_etag(built.etag) in tags:
            return Response(status_code=304, headers=sent)
    if gzipped:
        sent["Content-Encoding"] = "gzip"
    return Response(built.gzipped if gzipped else built.body, media_type=built.media_type, headers=sent)


def archive_jsonl_endpoint(cache: ExportCache) -> Callable[[Request], Awaitable[Response]]:
    @access(Access.PUBLIC)
    async def archive_jsonl(request: Request) -> Response:
        """Built once per change of the archive (see `exports.archive_version`), then served as bytes."""
        state = app_state(request)
        version = await state.read(exports.archive_version)

        async def build() -> BuiltExport:
            body = await build_archive_jsonl(state, version)
            return BuiltExport(version.key, body, JSONL_TYPE)

        return export_response(request, await cache.get(version.key, build))

    return archive_jsonl


def routes() -> list[BaseRoute]:
    bodies = CompressedOnce()
    return [
        Route("/archive.jsonl", archive_jsonl_endpoint(ExportCache()), methods=["GET"]),
        Route("/incidents/{slug}.json", incident_json_endpoint(bodies), methods=["GET"]),
        Route("/incidents/{slug}/history.csv", history_csv_endpoint(bodies), methods=["GET"]),
    ]
