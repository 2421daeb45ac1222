"""/console/audit: the audit log for reviewers and admins, with filters, CSV export and the
chain status. The same domain functions as the JSON API (`console.web.audit_api`).

Empty filter fields filter nothing (the form sends every field). With htmx the filters and the
results are refreshed together, so what is wrong shows beside each field and a fixed field's
old error goes.

Verifying the chain reads every event and version, which takes seconds on a large log, so
the page arrives at once and htmx fetches the verdict (`?verify=1`); without JavaScript a
link asks for it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import audit_log
from console.domain.errors import InvalidInput, NotFound
from console.domain.exports import audit_head
from console.web.access import Access, access
from console.web.audit_api import FILTERS, INT_MAX, csv_response, query_of, whole_number
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.rendering import render
from console.web.state import app_state

AUDIT = "console/audit.html"


def _link(path: str, filters: dict[str, str], **extra: Any) -> str:
    params = {name: value for name, value in {**filters, **extra}.items() if value not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path


@access(Access.AUDITOR, STAFF)
async def audit_page(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    typed = {name: request.query_params.get(name, "") for name in FILTERS}
    verify = request.query_params.get("verify") == "1"
    context: dict[str, Any] = {
        "typed": typed,
        "errors": {},
        "events": [],
        "update_seqs": {},
        "chain": None,
        "next_href": None,
    }

    def work(session: Session) -> dict[str, Any]:
        before = whole_number(request, "before", None, 1, INT_MAX, empty_is_absent=True)
        page = audit_log.audit_page(
            session,
            query_of(request, session, empty_is_absent=True),
            before=before,
            limit=audit_log.PAGE_DEFAULT,
        )
        return {
            "events": page.events,
            "update_seqs": page.update_seqs,
            "head": audit_head(session),
            "next_href": _link("/console/audit", typed, before=page.next_before)
            if page.next_before
            else None,
            "chain": audit_log.chain_status(session) if verify else None,
        }

    status = 200
    try:
        context.update(await state.read(work))
    except InvalidInput as exc:
        context["errors"], status = exc.fields, 422
    except NotFound as exc:  # an incident slug that does not exist
        context["errors"], status = {"incident": exc.message}, 422
    context["csv_href"] = _link("/console/audit.csv", typed)
    block = "chain" if verify else "search"
    return render(request, AUDIT, context, viewer=viewer, status_code=status, block=block)


@access(Access.AUDITOR, STAFF)
async def audit_csv(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    try:
        query = await state.read(lambda session: query_of(request, session, empty_is_absent=True))
    except (InvalidInput, NotFound):
        # the filters are wrong: show them on the page, with what is wrong beside each
        return await audit_page(request)
    return csv_response(state, query)
