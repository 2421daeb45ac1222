"""The compose and correct forms save what is typed as it is typed (issue 13.7): htmx posts the
form a second after the last keystroke and swaps in the "saved at" line. The saved form comes
back when the PIO opens the incident or update again, is listed on their dashboard, and goes
when they publish it or discard it. See console.domain.autosave."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import autosave
from console.domain.autosave import FormName, Saved, TypedForm
from console.domain.errors import InvalidInput, NotFound
from console.domain.incidents import get_incident
from console.domain.previews import DraftText
from console.domain.updates import get_update
from console.web.access import Access, access
from console.web.staff.alerting_form import TypedAlerting
from console.web.staff.auth import STAFF, STAFF_REVIEWED, Viewer, local_path
from console.web.staff.forms import Form, read_form
from console.web.staff.incidents import INCIDENT
from console.web.staff.rendering import error_page, render, see_other
from console.web.staff.translations import TypedTranslations
from console.web.staff.updates import UPDATE
from console.web.state import app_state

NOT_SAVED_RESENT = "Not saved yet: you signed in again. It is saved again from your next keystroke."


def typed_form(form: Form, translations: TypedTranslations, alerting: TypedAlerting) -> TypedForm:
    text = DraftText(form.text("headline"), form.text("body"), form.flag("preliminary"), form.text("reason"))
    details = dict(alerting.values)
    if not details.get("cap_expires", "").strip():
        # Pre-filled with the agency's timezone, and of use only with an expiry: not typed.
        details["cap_expires_zone"] = ""
    # Only what was typed: a language left as pre-filled is pre-filled afresh when restored.
    filled = translations.filled
    return TypedForm(
        text,
        {lang: translations.values[lang] for lang in filled},
        details,
        alerting.response_types,
        {lang: translations.typed_alerting(lang) for lang in filled},
    )


async def _save(
    request: Request,
    viewer: Viewer,
    name: FormName,
    target: Callable[[Session], int],
    template: str,
    context: dict[str, object],
) -> Response:
    """Save the posted form for the target `target` finds; answer with the form's "saved" line."""

    def line(saved: Saved | None = None, problem: str | None = None, status_code: int = 200) -> Response:
        values = {**context, "autosaved": saved, "autosave_problem": problem}
        block = f"{name.value}_autosave"
        return render(
            request, template, values, viewer=viewer, status_code=status_code, block=block, block_alone=True
        )

    if viewer.resent_form:  # another session's token: saved again once the page has the new one
        return line(problem=NOT_SAVED_RESENT)
    state = app_state(request)
    form = await read_form(request)
    typed = typed_form(form, TypedTranslations.read(form, state.languages), TypedAlerting.read(form))
    base = (form.integer("corrects_version") or None) if name is FormName.CORRECT else None

    def work(session: Session) -> Saved | None:
        return autosave.save(
            session, viewer.actor, name, target(session), typed, base_version=base, now=state.clock()
        )

    try:
        saved = await state.write(work)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    except InvalidInput as exc:
        return line(problem=f"Not saved: {exc.fields.get('form', 'it cannot be saved')}.", status_code=422)
    return line(saved)


@access(Access.PUBLISHER, STAFF_REVIEWED)
async def save_compose(request: Request, viewer: Viewer) -> Response:
    slug = request.path_params["slug"]
    return await _save(
        request,
        viewer,
        FormName.COMPOSE,
        lambda session: get_incident(session, slug).id,
        INCIDENT,
        {"incident": {"slug": slug}},
    )


@access(Access.PUBLISHER, STAFF_REVIEWED)
async def save_correction(request: Request, viewer: Viewer) -> Response:
    update_id = request.path_params["update_id"]
    return await _save(
        request,
        viewer,
        FormName.CORRECT,
        lambda session: get_update(session, update_id).id,
        UPDATE,
        {"update": {"id": update_id}},
    )


@access(Access.PUBLISHER, STAFF)
async def discard(request: Request, viewer: Viewer) -> Response:
    """Forget a saved form; back to the page it was discarded from."""
    state = app_state(request)
    try:
        name = FormName(request.path_params["form"])
    except ValueError:
        return error_page(request, viewer, "There is no such form.", 404)
    target_id = request.path_params["target_id"]
    back = local_path((await read_form(request)).text("next"))
    await state.write(lambda session: autosave.discard(session, viewer.actor, name, target_id))
    return see_other(request, back)
