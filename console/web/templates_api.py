"""Templates in the JSON API (issue 18): any account reads them; admins create, revise and
delete them. Publishing from one is `template` + `placeholders` on
`POST /incidents/{slug}/updates` (see `console.web.api`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain.actors import Actor
from console.domain.alerting import TranslatedAlerting
from console.domain.templates import (
    TemplateDraft,
    check_defaults,
    create_template,
    current_templates,
    current_version,
    delete_template,
    existing_template,
    revise_template,
    template_history,
    template_view,
)
from console.domain.translation_drafts import TranslationDraft
from console.web.access import Access, access
from console.web.bearer import TOKEN
from console.web.jsonio import Fields, read_no_body, read_object
from console.web.state import app_state

TEXT_FIELDS = ["name", "category", "headline", "body", "translations", "cap", "instruction"]


def read_draft(fields: Fields) -> TemplateDraft:
    """A template's fields; `translations` is `{lang: {"headline"?, "body", "instruction"?}}`;
    `cap` and `instruction` are checked as a version's (issue 17), `cap.expires` refused."""
    translations: dict[str, TranslationDraft] = {}
    value = fields.data.get("translations")
    if value is None:
        value = {}
    elif not isinstance(value, dict):
        fields.errors["translations"] = 'must be an object of {language tag: {"headline"?, "body"}}'
        value = {}
    for lang, text in value.items():
        if not isinstance(text, dict):
            fields.errors[f"translations.{lang}"] = 'must be an object {"headline"?, "body"}'
            continue
        one = Fields(text, ["headline", "body", "instruction"])
        headline, body = one.text("headline"), one.text("body", required=True)
        instruction = one.text("instruction")
        fields.errors.update({f"translations.{lang}.{name}": problem for name, problem in one.errors.items()})
        translations[lang] = TranslationDraft(
            lang=lang,
            body=body or "",
            headline=headline,
            alerting=TranslatedAlerting(instruction=instruction),
        )
    cap = fields.data.get("cap")
    if cap is not None and not isinstance(cap, dict):
        fields.errors["cap"] = "must be an object"
        cap = None
    alerting = check_defaults(cap, fields.data.get("instruction"), fields.errors)
    return TemplateDraft(
        name=fields.text("name", required=True),
        body=fields.text("body", required=True),
        headline=fields.text("headline"),
        category=fields.text("category"),
        translations=translations,
        alerting=alerting,
    )


@access(Access.READER, TOKEN)
async def list_templates(request: Request, _reader: Actor) -> Response:
    def work(session: Session) -> list[dict[str, Any]]:
        return [template_view(template, version) for template, version in current_templates(session)]

    return JSONResponse({"templates": await app_state(request).read(work)})


@access(Access.READER, TOKEN)
async def get_template_endpoint(request: Request, _reader: Actor) -> Response:
    template_id = request.path_params["template_id"]

    def work(session: Session) -> dict[str, Any]:
        template = existing_template(session, template_id)
        history = [template_view(template, version) for version in template_history(session, template)]
        return {**template_view(template, current_version(session, template)), "versions": history}

    return JSONResponse(await app_state(request).read(work))


@access(Access.ADMIN, TOKEN)
async def create_template_endpoint(request: Request, actor: Actor) -> Response:
    fields = Fields(await read_object(request), TEXT_FIELDS)
    draft = read_draft(fields)
    fields.check()
    state = app_state(request)

    def work(session: Session) -> dict[str, Any]:
        return template_view(*create_template(session, actor, draft, languages=state.languages))

    body = await state.write(work)
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/v1/templates/{body['id']}"})


@access(Access.ADMIN, TOKEN)
async def revise_template_endpoint(request: Request, actor: Actor) -> Response:
    fields = Fields(await read_object(request), [*TEXT_FIELDS, "corrects_version"])
    draft = read_draft(fields)
    corrects = fields.integer("corrects_version", required=True)
    fields.check()
    assert corrects is not None
    state = app_state(request)
    template_id = request.path_params["template_id"]

    def work(session: Session) -> dict[str, Any]:
        revised = revise_template(
            session, actor, template_id, draft, corrects_version=corrects, languages=state.languages
        )
        return template_view(*revised)

    body = await state.write(work)
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/v1/templates/{template_id}"})


@access(Access.ADMIN, TOKEN)
async def delete_template_endpoint(request: Request, actor: Actor) -> Response:
    await read_no_body(request)
    template_id = request.path_params["template_id"]

    def work(session: Session) -> dict[str, Any]:
        template = delete_template(session, actor, template_id)
        return template_view(template, current_version(session, template))

    return JSONResponse(await app_state(request).write(work))


def routes() -> list[BaseRoute]:
    return [
        Route("/templates", list_templates, methods=["GET"]),
        Route("/templates", create_template_endpoint, methods=["POST"]),
        Route("/templates/{template_id:int}", get_template_endpoint, methods=["GET"]),
        Route("/templates/{template_id:int}", delete_template_endpoint, methods=["DELETE"]),
        Route("/templates/{template_id:int}/versions", revise_template_endpoint, methods=["POST"]),
    ]
