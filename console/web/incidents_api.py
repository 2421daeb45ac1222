"""Incident-level actions in the JSON API (issue 13): correct an incident's details as a new
details version."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console.domain.details_versions import DETAIL_FIELDS, details_version_view
from console.domain.incident_details import ChangedDetails, DetailsDraft, change_details
from console.web.access import Access, access
from console.web.api import api_endpoint, publish_once, writer
from console.web.jsonio import Fields, read_object
from console.web.state import app_state


def _changed(result: ChangedDetails) -> dict[str, Any]:
    return {
        "incident": result.incident.slug,
        **details_version_view(result.version, result.previous),
        "event_id": result.event.event_id,
    }


@access(Access.PUBLISHER)
@api_endpoint
async def change_details_endpoint(request: Request) -> Response:
    actor = await writer(request)
    payload = await read_object(request)
    fields = Fields(payload, [*DETAIL_FIELDS, "reason", "corrects_version"])
    draft = DetailsDraft(**{name: fields.text(name) for name in DETAIL_FIELDS})
    reason = fields.text("reason", required=True)
    corrects = fields.integer("corrects_version", required=True)
    fields.check()
    assert corrects is not None
    state = app_state(request)
    slug = request.path_params["slug"]

    def work(session: Session) -> dict[str, Any]:
        return _changed(
            change_details(
                session, actor, slug, draft, reason=reason, corrects_version=corrects, routing=state.routing
            )
        )

    return await publish_once(request, actor, payload, work, lambda body: f"/api/v1/incidents/{slug}")


def routes() -> list[BaseRoute]:
    return [
        Route("/incidents/{slug}/details", change_details_endpoint, methods=["POST"]),
    ]
