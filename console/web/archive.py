"""Public archive pages: /archive, /incidents/{slug}/history and /corrections.

Readable with JavaScript off; with htmx the archive's filter form refreshes only the results
(the `results` block of the same template). Every page names the audit chain head.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console.archive_views import base_context
from console.domain import archive, exports, history
from console.domain.errors import InvalidInput, NotFound
from console.i18n import in_language
from console.templating import page_context
from console.web.access import Access, access
from console.web.language import page_language, remember_choice
from console.web.state import app_state

# A shared cache takes the load of a crowd off the database, for PUBLIC_CACHE_SECONDS as the
# live pages: the history and /corrections are the public correction record, which the live
# page links to the moment a correction is out. The results fragment is chosen by `HX-Target`,
# so a cache must key on it (and on `HX-Request`, which htmx sends with it), or it would serve
# the bare fragment to everyone; and on what chose the reader's language, unless `?lang=` (in
# the URL) did.
VARY = "HX-Request, HX-Target"
NEGOTIATED_VARY = f"{VARY}, Accept-Language, Cookie"
RESULTS_TARGET = "archive-results"


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1").strip() or "1"
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not 1 <= int(raw) <= 1_000_000:
        raise InvalidInput({"page": "must be a page number (1, 2, 3 …)"})
    return int(raw)


def _render(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200, block: str | None = None
) -> Response:
    """The page in the reader's language, chosen as the live pages choose it."""
    state = app_state(request)
    chosen = page_language(request, state.languages)
    several = len(state.settings.languages) > 1
    headers = {
        "Cache-Control": f"public, max-age={state.settings.public_cache_seconds}",
        "Vary": NEGOTIATED_VARY if several and not chosen.from_query else VARY,
        "Content-Language": chosen.lang,
    }
    full = base_context(
        snapshot=False,
        extra={
            **page_context(state.settings, chosen.lang, path=request.url.path, query=request.query_params),
            **context,
        },
    )
    with in_language(chosen.lang):
        if block:
            response = state.templates.TemplateResponse(
                request, name, full, status_code=status, headers=headers, block_name=block
            )
        else:
            response = state.templates.TemplateResponse(
                request, name, full, status_code=status, headers=headers
            )
    if several:
        remember_choice(response, request, chosen, secure=state.settings.cookies_secure)
    return response


def _problem(request: Request, message: str, *, status: int = 404) -> Response:
    return _render(request, "archive/problem.html", {"message": message, "status": status}, status=status)


@access(Access.PUBLIC)
async def archive_index(request: Request) -> Response:
    params = request.query_params
    form = {key: params.get(key, "") for key in ("q", "category", "from", "to")}
    fragment = request.headers.get("hx-target") == RESULTS_TARGET
    state = app_state(request)
    zone = state.settings.zone
    errors: dict[str, str] = {}
    try:
        page_number = _page_number(request)
        where = archive.parse_filter(
            q=form["q"], category=form["category"], since=form["from"], until=form["to"]
        )
    except InvalidInput as exc:
        errors, page_number, where = exc.fields, 1, archive.ArchiveFilter()

    def work(session: Session) -> tuple[archive.ArchivePage, dict[str, Any]]:
        if errors:
            return archive.ArchivePage([], 0, 1, archive.PER_PAGE), exports.audit_head(session)
        return archive.archive_page(session, where, page=page_number, zone=zone), exports.audit_head(session)

    result, head = await state.read(work)
    if not errors and page_number > result.pages:
        errors = {"page": f"there are only {result.pages} pages"}
    kept = {key: value for key, value in form.items() if value}

    def page_url(number: int) -> str:
        return "/archive?" + urlencode({**kept, "page": number}) if number > 1 or kept else "/archive"

    context = {
        "form": form,
        "where": where,
        "result": result,
        "head": head,
        "errors": errors,
        "page_url": page_url,
    }
    # htmx swaps only 2xx answers: a refreshed result area shows its errors itself.
    status = 400 if errors and not fragment else 200
    return _render(
        request, "archive/index.html", context, status=status, block="results" if fragment else None
    )


@access(Access.PUBLIC)
async def incident_history(request: Request) -> Response:
    slug = request.path_params["slug"]

    def work(session: Session) -> tuple[history.IncidentHistory, dict[str, Any]]:
        exports.read_consistently(session)
        return history.incident_history(session, slug), exports.audit_head(session)

    try:
        record, head = await app_state(request).read(work)
    except NotFound as exc:
        return _problem(request, exc.message)
    return _render(request, "archive/history.html", {"history": record, "head": head})


@access(Access.PUBLIC)
async def corrections(request: Request) -> Response:
    try:
        page_number = _page_number(request)
    except InvalidInput as exc:  # a malformed request, as /archive answers it: not a missing page
        return _problem(request, exc.message, status=400)

    def work(session: Session) -> tuple[history.CorrectionsPage, dict[str, Any]]:
        return history.corrections_page(session, page=page_number), exports.audit_head(session)

    result, head = await app_state(request).read(work)
    if page_number > result.pages:
        return _problem(request, f"there are only {result.pages} pages of corrections")

    def page_url(number: int) -> str:
        return f"/corrections?page={number}" if number > 1 else "/corrections"

    return _render(
        request, "archive/corrections.html", {"result": result, "head": head, "page_url": page_url}
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/archive", archive_index, methods=["GET"]),
        Route("/corrections", corrections, methods=["GET"]),
        Route("/incidents/{slug}/history", incident_history, methods=["GET"]),
    ]
