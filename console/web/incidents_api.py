"""Incident-level actions in the JSON API (issue 13): correct an incident's details as a new
details version, or translate them; resolve with an all-clear, and reopen with a reason, on every channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain import approval, records
from console.domain.actors import Actor
from console.domain.details_translations import (
    TRANSLATED_FIELDS,
    AddedDetailsTranslation,
    DetailsTranslationDraft,
    translate_details,
)
from console.domain.details_versions import DETAIL_FIELDS, details_version_view
from console.domain.incident_details import ChangedDetails, DetailsDraft, change_details
from console.domain.pins import Pinned, pin_update
from console.domain.resolution import reopen_incident, resolve_with_all_clear, translations_of
from console.domain.signing import signature_view
from console.domain.translations import translation_view
from console.domain.updates import Published, version_view
from console.web.access import Access, access
from console.web.api import Waits, approval_needed, publish_once
from console.web.bearer import TOKEN
from console.web.jsonio import Fields, read_object
from console.web.state import app_state


def _changed(result: ChangedDetails) -> dict[str, Any]:
    return {
        "incident": result.incident.slug,
        **details_version_view(result.version, result.previous),
        "event_id": result.event.event_id,
    }


@access(Access.PUBLISHER, TOKEN)
async def change_details_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(payload, [*DETAIL_FIELDS, "area", "cap_defaults", "reason", "corrects_version"])
    draft = DetailsDraft(
        **{name: fields.text(name) for name in DETAIL_FIELDS},
        area=fields.data.get("area"),  # checked by the domain (console.domain.area)
        cap_defaults=fields.data.get("cap_defaults"),  # checked by the domain (console.domain.alerting)
    )
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


def _translated(result: AddedDetailsTranslation) -> dict[str, Any]:
    row = result.translation
    return {
        "incident": result.event.incident_slug,
        "lang": row.lang,
        "details_version": row.version.version,
        **{name: getattr(row, name) for name in TRANSLATED_FIELDS},
        "author": row.author_name,
        "created_at": row.created_at.isoformat(),
        "content_hash": row.content_hash,
        "signature": signature_view(row.signature_kid, row.signature_value),
        "event_id": result.event.event_id,
    }


@access(Access.PUBLISHER, TOKEN)
async def translate_details_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(payload, ["lang", *TRANSLATED_FIELDS, "version"])
    draft = DetailsTranslationDraft(
        lang=fields.text("lang"), **{name: fields.text(name) for name in TRANSLATED_FIELDS}
    )
    version = fields.integer("version", required=True)
    fields.check()
    assert version is not None
    state = app_state(request)
    slug = request.path_params["slug"]

    def work(session: Session) -> dict[str, Any]:
        return _translated(
            translate_details(
                session, actor, slug, draft, version=version, languages=state.languages, routing=state.routing
            )
        )

    return await publish_once(request, actor, payload, work, lambda body: f"/api/v1/incidents/{slug}")


def _announcement(result: Published) -> dict[str, Any]:
    return {
        "id": result.update.id,
        "seq": result.update.seq,
        **version_view(result.version),
        "translations": [
            translation_view(translation, result.version.version, "current")
            for translation in result.translations
        ],
        "event_id": result.event.event_id,
    }


def _texts_by_language(fields: Fields) -> dict[str, str]:
    """The optional `translations: {lang: text}` of an all-clear."""
    value = fields.data.get("translations")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(text, str) for text in value.values()):
        fields.errors["translations"] = "must be an object of {language tag: text}"
        return {}
    return dict(value)


@access(Access.PUBLISHER, TOKEN)
async def resolve_incident_endpoint(request: Request, actor: Actor) -> Response:
    fields = Fields(await read_object(request), ["message", "translations", "bypass_approval"])
    message = fields.text("message", required=True)
    texts = _texts_by_language(fields)
    needs = approval_needed(request, fields, "resolve")
    fields.check()
    state = app_state(request)
    slug = request.path_params["slug"]
    translations = translations_of(texts, state.languages)
    if isinstance(needs, Waits):
        pending = await state.write(
            lambda session: approval.pending_view(
                approval.submit_resolution(
                    session, actor, slug, message, translations=translations, routing=state.routing
                )
            )
        )
        return JSONResponse(pending, status_code=202)

    def work(session: Session) -> dict[str, Any]:
        result = resolve_with_all_clear(
            session, actor, slug, message, translations=translations, routing=state.routing
        )
        if needs is not None:
            approval.record_bypass(session, actor, result.all_clear, needs, routing=state.routing)
        view = records.incident_view_now(session, result.incident)
        return {**view, "all_clear": _announcement(result.all_clear)}

    return JSONResponse(await state.write(work))


@access(Access.PUBLISHER, TOKEN)
async def reopen_incident_endpoint(request: Request, actor: Actor) -> Response:
    fields = Fields(await read_object(request), ["reason"])
    reason = fields.text("reason", required=True)
    fields.check()
    state = app_state(request)
    slug = request.path_params["slug"]

    def work(session: Session) -> dict[str, Any]:
        result = reopen_incident(session, actor, slug, reason, routing=state.routing)
        view = records.incident_view_now(session, result.incident)
        return {**view, "reopened": _announcement(result.announcement)}

    return JSONResponse(await state.write(work))


def pin_view(result: Pinned) -> dict[str, Any]:
    return {
        "incident": result.incident.slug,
        "seq": result.seq,
        "pinned_at": result.pin.pinned_at.isoformat(),
        "pinned_by": result.pin.author_name,
        "event_id": result.event.event_id,
    }


@access(Access.PUBLISHER, TOKEN)
async def pin_endpoint(request: Request, actor: Actor) -> Response:
    fields = Fields(await read_object(request), ["seq"])
    seq = fields.integer("seq")
    if "seq" not in fields.data:
        fields.errors["seq"] = "is required: the update's number, or null to unpin"
    fields.check()
    state = app_state(request)
    slug = request.path_params["slug"]

    def work(session: Session) -> dict[str, Any]:
        return pin_view(pin_update(session, actor, slug, seq, routing=state.routing))

    return JSONResponse(await state.write(work))


def routes() -> list[BaseRoute]:
    return [
        Route("/incidents/{slug}/details", change_details_endpoint, methods=["POST"]),
        Route("/incidents/{slug}/details/translations", translate_details_endpoint, methods=["POST"]),
        Route("/incidents/{slug}/resolve", resolve_incident_endpoint, methods=["POST"]),
        Route("/incidents/{slug}/reopen", reopen_incident_endpoint, methods=["POST"]),
        Route("/incidents/{slug}/pin", pin_endpoint, methods=["POST"]),
    ]
