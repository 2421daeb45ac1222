"""Partners' webhooks in the JSON API (issue 16): an admin registers an endpoint (its
`whsec_` secret is shown once, in the 201), lists them, and reads each one's delivery log."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.alert_models import AlertChannel, AlertDelivery, Subscriber
from console.alerts.webhooks import TargetRefused, check_target
from console.domain import subscriptions
from console.domain.actors import Actor
from console.domain.errors import InvalidInput, NotFound
from console.models import Incident
from console.web.access import Access, access
from console.web.audit_api import INT_MAX, whole_number
from console.web.bearer import TOKEN
from console.web.jsonio import Fields, read_object
from console.web.state import app_state

MAX_DESCRIPTION = 500
# The delivery log, a page at a time (`?before=` the `next_before` of the page before).
LOG_PAGE_DEFAULT = 50
LOG_PAGE_MAX = 500


def webhook_view(subscriber: Subscriber, incident_slug: str | None) -> dict[str, Any]:
    return {
        "id": subscriber.id,
        "url": subscriber.address,
        "description": subscriber.description,
        "incident": incident_slug,
        "created_at": subscriber.created_at.isoformat(),
    }


def delivery_view(delivery: AlertDelivery) -> dict[str, Any]:
    return {
        "event_id": delivery.event_id,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "error": delivery.error,
        "created_at": delivery.created_at.isoformat(),
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
    }


@access(Access.ADMIN, TOKEN)
async def register_webhook(request: Request, actor: Actor) -> Response:
    fields = Fields(await read_object(request), ["url", "description", "incident"])
    url = (fields.text("url", required=True) or "").strip()
    description = fields.text("description")
    incident = (fields.text("incident") or "").strip()
    if description is not None and len(description) > MAX_DESCRIPTION:
        fields.errors["description"] = f"is longer than {MAX_DESCRIPTION} characters"
    fields.check()
    state = app_state(request)
    try:
        await asyncio.to_thread(check_target, url, allow_private=state.settings.webhook_allow_private)
    except TargetRefused as exc:
        raise InvalidInput({"url": str(exc)}) from None
    settings = state.settings

    def work(session: Session) -> dict[str, Any]:
        registered = subscriptions.register_webhook(
            session,
            actor,
            secret_key=settings.secret_key._value,
            url=url,
            description=description,
            incident_slug=incident,
            lang=settings.primary_language,
            now=state.clock(),
        )
        return {**webhook_view(registered.subscriber, incident or None), "secret": registered.secret}

    body = await state.write(work)
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/v1/webhooks/{body['id']}"})


@access(Access.ADMIN, TOKEN)
async def list_webhooks(request: Request, _admin: Actor) -> Response:

    def work(session: Session) -> list[dict[str, Any]]:
        return [
            webhook_view(hook, hook_slug(session, hook.incident_id))
            for hook in subscriptions.webhooks(session)
        ]

    return JSONResponse({"webhooks": await app_state(request).read(work)})


def hook_slug(session: Session, incident_id: int | None) -> str | None:
    return session.get_one(Incident, incident_id).slug if incident_id is not None else None


def _webhook(session: Session, request: Request) -> Subscriber:
    webhook_id: int = request.path_params["webhook_id"]  # `{webhook_id:int}`: nine digits at most
    hook = session.get(Subscriber, webhook_id)
    if hook is None or hook.channel is not AlertChannel.WEBHOOK:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


@access(Access.ADMIN, TOKEN)
async def get_webhook(request: Request, _admin: Actor) -> Response:
    """One endpoint, without its secret: where `POST /webhooks` answers the new one is."""

    def work(session: Session) -> dict[str, Any]:
        hook = _webhook(session, request)
        return webhook_view(hook, hook_slug(session, hook.incident_id))

    return JSONResponse(await app_state(request).read(work))


def delivery_page(
    session: Session, webhook_id: int, *, before: int | None, limit: int
) -> tuple[list[AlertDelivery], int | None]:
    """The endpoint's deliveries, newest event first, of the events before `before` (an event
    id); and the `before` of the next page, None on the last. An endpoint gets each event once,
    so the event id is a place in its log that a delivery added meanwhile does not move."""
    query = select(AlertDelivery).where(AlertDelivery.subscriber_id == webhook_id)
    if before is not None:
        query = query.where(AlertDelivery.event_id < before)
    found = list(session.scalars(query.order_by(AlertDelivery.event_id.desc()).limit(limit + 1)))
    rows = found[:limit]
    return rows, rows[-1].event_id if len(found) > limit else None


@access(Access.ADMIN, TOKEN)
async def webhook_deliveries(request: Request, _admin: Actor) -> Response:
    before = whole_number(request, "before", None, 1, INT_MAX)
    limit = whole_number(request, "limit", LOG_PAGE_DEFAULT, 1, LOG_PAGE_MAX)
    assert limit is not None

    def work(session: Session) -> dict[str, Any]:
        hook = _webhook(session, request)
        rows, next_before = delivery_page(session, hook.id, before=before, limit=limit)
        return {
            **webhook_view(hook, hook_slug(session, hook.incident_id)),
            "deliveries": [delivery_view(r) for r in rows],
            "next_before": next_before,
        }

    return JSONResponse(await app_state(request).read(work))


def routes() -> list[BaseRoute]:
    return [
        Route("/webhooks", register_webhook, methods=["POST"]),
        Route("/webhooks", list_webhooks, methods=["GET"]),
        Route("/webhooks/{webhook_id:int}", get_webhook, methods=["GET"]),
        Route("/webhooks/{webhook_id:int}/deliveries", webhook_deliveries, methods=["GET"]),
    ]
