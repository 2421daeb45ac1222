"""Web Push for residents (issue 16): `/sw.js`, the service worker that shows the alerts (at
the root so its scope is the whole site), `GET /push/key`, the VAPID public key browsers
subscribe with, and `POST /push/subscriptions`, which takes `PushSubscription.toJSON()` plus
`incident`, `lang` and, optionally, `area_point` or `area_zip` (issue 17: only alerts for
that location). The browser's permission prompt was the opt-in: a push subscription is
confirmed at once. The POST is JSON from our own page: a request from another site (by its
Origin or Sec-Fetch-Site) is refused, and it counts against SUBSCRIBE_IP_LIMIT.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.alerts.web_push import PREVIEW_NOTE, application_server_key
from console.alerts.webhooks import TargetRefused, check_target
from console.domain import subscriptions
from console.domain.errors import InvalidInput
from console.domain.subscriber_location import Location, location_of
from console.web.access import Access, access
from console.web.bearer import domain_error_response
from console.web.jsonio import BadRequest, Fields, error_response, read_object
from console.web.rate_limit import client_address
from console.web.staff.auth import same_origin
from console.web.state import app_state

SERVICE_WORKER = Path(__file__).resolve().parents[2] / "static" / "js" / "sw.js"
MAX_ENDPOINT = 2000
MAX_KEY = 200


@access(Access.PUBLIC)
async def service_worker(request: Request) -> Response:
    # no-cache: browsers check for a new worker on each visit anyway, but never use a stale one.
    headers = {"Cache-Control": "no-cache"}
    return FileResponse(SERVICE_WORKER, media_type="text/javascript", headers=headers)


@access(Access.PUBLIC)
async def push_key(request: Request) -> Response:
    key = app_state(request).settings.vapid_private_key
    if key is None:
        return error_response(404, "push_not_configured", PREVIEW_NOTE)  # preview: nothing to subscribe to
    public_key = await asyncio.to_thread(application_server_key, key._value)
    return JSONResponse({"applicationServerKey": public_key}, headers={"Cache-Control": "no-cache"})


def _subscription(
    body: dict[str, Any], languages: tuple[str, ...]
) -> tuple[dict[str, str], Location | None, dict[str, str]]:
    """The fields of a subscription request, and what is wrong with each that is bad (its keys
    checked as keys; the endpoint's address and the incident are for the caller to check)."""
    fields = Fields(
        body, ["endpoint", "keys", "expirationTime", "incident", "lang", "area_point", "area_zip"]
    )
    endpoint = (fields.text("endpoint", required=True) or "").strip()
    incident = (fields.text("incident") or "").strip()
    lang = fields.text("lang") or languages[0]
    location = None
    point, zip_code = fields.text("area_point") or "", fields.text("area_zip") or ""
    try:
        location = location_of(point, zip_code)
    except InvalidInput as exc:
        fields.errors.update(exc.fields)
    keys = body.get("keys")
    given: dict[str, str] = {}
    if not isinstance(keys, dict):
        fields.errors["keys"] = 'must be an object {"p256dh", "auth"}'
    else:
        for name in ("p256dh", "auth"):
            value = keys.get(name)
            if not isinstance(value, str) or not 0 < len(value) <= MAX_KEY:
                fields.errors[f"keys.{name}"] = "is required: a base64url string"
            else:
                given[name] = value
    if len(given) == 2:  # both keys given as strings: are they keys?
        fields.errors.update(subscriptions.push_key_problems(given["p256dh"], given["auth"]))
    if len(endpoint) > MAX_ENDPOINT:
        fields.errors["endpoint"] = f"is longer than {MAX_ENDPOINT} characters"
    if lang not in languages:
        fields.errors["lang"] = f"must be one of {', '.join(languages)}"
    return {"endpoint": endpoint, "incident": incident, "lang": lang, **given}, location, fields.errors


def _incident_problem(session: Session, slug: str) -> dict[str, str]:
    try:
        subscriptions.incident_by_slug(session, slug)
    except InvalidInput as exc:
        return exc.fields
    return {}


@access(Access.PUBLIC)
async def subscribe(request: Request) -> Response:
    state = app_state(request)
    settings = state.settings
    if not same_origin(request):
        return error_response(403, "cross_origin", "subscribe from this site's own pages")
    wait = state.subscribe_ip_limit.allow(client_address(request))
    if wait is not None:
        headers = {"Retry-After": str(int(wait) + 1)}
        return error_response(429, "rate_limited", "too many requests; try again later", headers=headers)
    try:
        given, location, errors = _subscription(await read_object(request), settings.languages)
        if given["endpoint"] and "endpoint" not in errors:
            try:
                await asyncio.to_thread(
                    check_target, given["endpoint"], allow_private=settings.push_allow_private
                )
                if "@" in urlsplit(given["endpoint"]).netloc:  # no push service's has one
                    errors["endpoint"] = "must not carry a user name or password"
            except TargetRefused as exc:
                errors["endpoint"] = str(exc)
        if given["incident"]:
            errors.update(await state.read(lambda session: _incident_problem(session, given["incident"])))
        if errors:
            raise InvalidInput(errors)  # every bad field at once
        await state.write(
            lambda session: subscriptions.subscribe_push(
                session,
                secret_key=settings.secret_key._value,
                endpoint=given["endpoint"],
                p256dh=given["p256dh"],
                auth=given["auth"],
                lang=given["lang"],
                incident_slug=given["incident"],
                now=state.clock(),
                location=location,
            )
        )
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except InvalidInput as exc:
        return domain_error_response(exc)
    body = {
        "subscribed": True,
        "incident": given["incident"] or None,
        "lang": given["lang"],
        "area_point": location.point if location else None,
        "area_zip": location.zip if location else None,
    }
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/sw.js", service_worker, methods=["GET"]),
        Route("/push/key", push_key, methods=["GET"]),
        Route("/push/subscriptions", subscribe, methods=["POST"]),
    ]
