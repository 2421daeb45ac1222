"""Rumor control in the JSON API: publish a rumor response, correct it, read them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain import rumors
from console.domain.actors import Actor
from console.web.access import Access, access
from console.web.api import publish_answered
from console.web.bearer import ANY_CALLER, TOKEN
from console.web.jsonio import Fields, read_object
from console.web.state import app_state

RUMOR_FIELDS = ["claim", "seen_at", "verdict", "facts", "translations"]
LIST_LIMIT = 100
RUMORS = "/api/v1/rumors"


def _draft(fields: Fields) -> rumors.RumorDraft:
    return rumors.RumorDraft(
        claim=fields.text("claim", required=True) or "",
        verdict=fields.text("verdict", required=True) or "",
        facts=fields.text("facts", required=True) or "",
        seen_at=fields.text("seen_at"),
    )


def _translations(fields: Fields) -> list[rumors.RumorTranslationDraft]:
    """The optional `translations: [{lang, claim, facts}]` of a new version."""
    value = fields.data.get("translations")
    if value is None:
        return []
    if not isinstance(value, list):
        fields.errors["translations"] = "must be an array of {lang, claim, facts} objects"
        return []
    drafts = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            fields.errors[f"translations[{index}]"] = "must be an object with lang, claim and facts"
            continue
        one = Fields(item, ["lang", "claim", "facts"])
        lang, claim, facts = (one.text(name, required=True) for name in ("lang", "claim", "facts"))
        fields.errors.update(
            {f"translations[{index}].{name}": problem for name, problem in one.errors.items()}
        )
        if lang is not None and claim is not None and facts is not None:
            drafts.append(rumors.RumorTranslationDraft(lang, claim, facts))
    return drafts


def _answer(result: rumors.PublishedRumor) -> dict[str, Any]:
    return {
        "id": result.rumor.id,
        "incident": result.rumor.incident.slug if result.rumor.incident else None,
        "event_id": result.event.event_id,
        **rumors.rumor_version_view(result.version, result.translations),
    }


def _publishing(request: Request, fields: Fields) -> rumors.RumorPublishing:
    state = app_state(request)
    return rumors.RumorPublishing(
        routing=state.routing, languages=state.languages, translations=_translations(fields)
    )


@access(Access.PUBLISHER, TOKEN)
async def publish_rumor_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(payload, ["incident", *RUMOR_FIELDS])
    incident = fields.text("incident")
    draft = _draft(fields)
    publishing = _publishing(request, fields)
    fields.check()

    def work(session: Session) -> rumors.PublishedRumor:
        return rumors.publish_rumor(session, actor, draft, incident_slug=incident, **publishing)

    return await publish_answered(request, actor, payload, work, _answer, RUMORS)


@access(Access.PUBLISHER, TOKEN)
async def correct_rumor_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(payload, [*RUMOR_FIELDS, "reason", "corrects_version"])
    draft = _draft(fields)
    reason = fields.text("reason", required=True)
    corrects = fields.integer("corrects_version", required=True)
    publishing = _publishing(request, fields)
    fields.check()
    assert corrects is not None
    rumor_id = request.path_params["rumor_id"]

    def work(session: Session) -> rumors.PublishedRumor:
        return rumors.correct_rumor(
            session, actor, rumor_id, draft, reason=reason, corrects_version=corrects, **publishing
        )

    return await publish_answered(request, actor, payload, work, _answer, RUMORS)


@access(Access.PUBLIC, ANY_CALLER)
async def list_rumors(request: Request, _caller: Actor | None) -> Response:
    entries = await app_state(request).read(lambda session: rumors.rumor_entries(session, limit=LIST_LIMIT))
    return JSONResponse({"rumors": [entry.view() for entry in entries]})


@access(Access.PUBLIC, ANY_CALLER)
async def get_rumor(request: Request, _caller: Actor | None) -> Response:
    rumor_id = request.path_params["rumor_id"]
    return JSONResponse(await app_state(request).read(lambda session: rumors.rumor_record(session, rumor_id)))


def routes() -> list[BaseRoute]:
    return [
        Route("/rumors", list_rumors, methods=["GET"]),
        Route("/rumors", publish_rumor_endpoint, methods=["POST"]),
        Route("/rumors/{rumor_id:int}", get_rumor, methods=["GET"]),
        Route("/rumors/{rumor_id:int}/corrections", correct_rumor_endpoint, methods=["POST"]),
    ]
