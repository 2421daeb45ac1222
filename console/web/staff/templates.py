"""Templates in the console (issue 18): every account sees the holding statements; admins
write, revise (a new version) and delete them. Plain forms: POST, then redirect; a refusal
comes back with what was typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import templates
from console.domain.alerting import Alerting, TranslatedAlerting
from console.domain.errors import DomainError, InvalidInput, VersionConflict
from console.domain.incidents import CATEGORIES
from console.domain.translation_drafts import TranslationDraft
from console.web.access import Access, access
from console.web.staff.alerting_form import FORM_NAMES
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import Form, read_form
from console.web.staff.rendering import refused_page, render, see_other
from console.web.state import app_state

SCREEN = "console/templates.html"


@dataclass
class Typed:
    """A template form as sent back after a refusal: which form, what was typed, what is wrong."""

    template_id: int | None = None  # None: the new-template form
    fields: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


CAP_SELECTS = ("urgency", "severity", "certainty")


def _fields(form: Form, languages: tuple[str, ...]) -> dict[str, str]:
    names = ["name", "category", "headline", "body", "instruction", "cap_event"]
    names += [f"cap_{name}" for name in CAP_SELECTS]
    for lang in languages:
        names += [f"tr-{lang}-headline", f"tr-{lang}-body", f"tr-{lang}-instruction"]
    fields = {name: form.text(name) for name in names}
    # The checked response types, kept as typed like the other fields (no option has a comma).
    fields["cap_response_types"] = ",".join(str(value) for value in form.data.getlist("cap_response_types"))
    return fields


def _defaults(typed: dict[str, str]) -> Alerting:
    """The CAP defaults and instruction as typed, checked as the API checks them; a select left
    at "Not set" or a blank text is not given."""
    cap: dict[str, Any] = {name: typed[f"cap_{name}"] for name in (*CAP_SELECTS, "event")}
    cap = {name: value for name, value in cap.items() if value.strip()}
    if typed["cap_response_types"]:
        cap["response_types"] = typed["cap_response_types"].split(",")
    errors: dict[str, str] = {}
    alerting = templates.check_defaults(cap, typed["instruction"], errors)
    if errors:
        raise InvalidInput(errors)
    return alerting


def _draft(typed: dict[str, str], languages: tuple[str, ...]) -> templates.TemplateDraft:
    translations = {
        lang: TranslationDraft(
            lang=lang,
            body=typed[f"tr-{lang}-body"],
            headline=typed[f"tr-{lang}-headline"] or None,
            alerting=TranslatedAlerting(instruction=typed[f"tr-{lang}-instruction"] or None),
        )
        for lang in languages
        if any(typed[f"tr-{lang}-{part}"].strip() for part in ("body", "headline", "instruction"))
    }
    return templates.TemplateDraft(
        name=typed["name"],
        body=typed["body"],
        headline=typed["headline"] or None,
        category=typed["category"],
        translations=translations,
        alerting=_defaults(typed),
    )


def form_errors(errors: dict[str, str]) -> dict[str, str]:
    """The domain's `translations.es.body` is the form's `tr-es-body`, its `cap.urgency` the
    form's `cap_urgency`."""
    named = {}
    for name, problem in errors.items():
        parts = name.split(".")
        if parts[0] == "translations" and len(parts) == 3:
            named["tr-" + "-".join(parts[1:])] = problem
        else:
            named[FORM_NAMES.get(name, name)] = problem
    return named


async def _screen(
    request: Request, viewer: Viewer, *, status_code: int = 200, typed: Typed | None = None
) -> Response:
    state = app_state(request)

    def work(session: Session) -> list[dict[str, Any]]:
        return [templates.template_view(t, version) for t, version in templates.current_templates(session)]

    context = {
        "templates": await state.read(work),
        "categories": CATEGORIES,
        "translated": state.languages.translated,
        "typed": typed or Typed(),
    }
    return render(request, SCREEN, context, viewer=viewer, status_code=status_code)


@access(Access.READER, STAFF)
async def templates_screen(request: Request, viewer: Viewer) -> Response:
    return await _screen(request, viewer)


@access(Access.ADMIN, STAFF)
async def create_template_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    typed = _fields(await read_form(request), state.languages.translated)
    try:
        created, _ = await state.write(
            lambda session: templates.create_template(
                session, viewer.actor, _draft(typed, state.languages.translated), languages=state.languages
            )
        )
    except InvalidInput as exc:
        return await _screen(
            request, viewer, status_code=422, typed=Typed(None, typed, form_errors(exc.fields))
        )
    return see_other(request, f"/console/templates?notice=template_saved#template-{created.id}")


@access(Access.ADMIN, STAFF)
async def revise_template_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    typed = _fields(form, state.languages.translated)
    template_id = request.path_params["template_id"]
    try:
        await state.write(
            lambda session: templates.revise_template(
                session,
                viewer.actor,
                template_id,
                _draft(typed, state.languages.translated),
                corrects_version=form.integer("corrects_version") or 0,
                languages=state.languages,
            )
        )
    except InvalidInput as exc:
        errors = form_errors(exc.fields)
        return await _screen(request, viewer, status_code=422, typed=Typed(template_id, typed, errors))
    except VersionConflict as exc:
        errors = {"body": f"another admin saved version {exc.current['version']} since you started; check it"}
        return await _screen(request, viewer, status_code=409, typed=Typed(template_id, typed, errors))
    except DomainError as exc:
        return refused_page(request, viewer, exc)
    return see_other(request, f"/console/templates?notice=template_saved#template-{template_id}")


@access(Access.ADMIN, STAFF)
async def delete_template_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    await read_form(request)
    template_id = request.path_params["template_id"]
    try:
        await state.write(lambda session: templates.delete_template(session, viewer.actor, template_id))
    except DomainError as exc:
        return refused_page(request, viewer, exc)
    return see_other(request, "/console/templates?notice=template_deleted")
