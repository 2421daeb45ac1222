"""The incident screen's resolve (with an all-clear) and reopen (with a reason) forms (issue 13.4)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import approval, idempotency
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.domain.resolution import (
    reopen_incident,
    resolve_with_all_clear,
    resolved_first,
    translations_of,
)
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import read_form
from console.web.staff.incidents import Reopening, Resolution, incident_screen
from console.web.staff.rendering import error_page, refused_page, see_other
from console.web.staff.submission import REUSED, Submission, new_token, once
from console.web.staff.translations import TypedTranslations
from console.web.staff.updates import bypass_refused
from console.web.state import app_state


@dataclass(frozen=True)
class ResolveForm:
    """What the resolve step shows besides the all-clear typed (`Resolution`): why nothing was
    published, the emergency bypass as sent, and who resolved the incident first, when a
    colleague did (then the step keeps the text to copy and offers no way to publish it)."""

    message: str | None = None
    bypass_approval: bool = False
    bypass_reason: str = ""
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    already_resolved: bool = False


@access(Access.PUBLISHER, STAFF)
async def resolve(request: Request, viewer: Viewer) -> Response:
    """Two steps: without `confirmed`, show the all-clear to publish; with it, publish and resolve."""
    state = app_state(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    if not form.flag("confirmed"):
        # The step carries a one-time token: "Publish the all-clear" clicked twice (or sent again
        # after a lost answer) resolves once, and the second click lands where the first did.
        ask: dict[str, object] = {"resolve_submission": new_token()}
        return await incident_screen(request, viewer, resolve_step=True, block="resolve", extra=ask)
    message = form.text("message")
    typed = TypedTranslations.read(form, state.languages)
    texts = {lang: typed.body(lang) for lang in typed.filled}
    translations = translations_of(texts, state.languages)
    waits = approval.required_for(state.settings.approval_required, "resolve")
    # The emergency bypass: resolve now, without approval, for the reason given.
    bypass = form.text("bypass_reason") if waits and form.flag("bypass_approval") else None
    sent = ResolveForm(bypass_approval=bypass is not None, bypass_reason=bypass or "")
    typed_all = {"message": message, "translations": texts, "bypass": bypass}
    submission = Submission.of(request, viewer, form, typed_all)

    def work(session: Session) -> bool:
        """True when resolved; False when the all-clear waits for approval."""
        answer = once(submission, session, lambda s: idempotency.Answer(303, {"resolved": publish(s)}, None))
        return bool(answer.body["resolved"])

    def publish(session: Session) -> bool:
        if waits and bypass is None:
            approval.submit_resolution(
                session, viewer.actor, slug, message, translations=translations, routing=state.routing
            )
            return False
        reason = approval.bypass_reason(bypass) if bypass is not None else None
        resolved = resolve_with_all_clear(
            session, viewer.actor, slug, message, translations=translations, routing=state.routing
        )
        if reason is not None:
            approval.record_bypass(session, viewer.actor, resolved.all_clear, reason, routing=state.routing)
        return True

    try:
        done = await state.write(work)
    except InvalidInput as exc:
        errors = {**exc.fields, **typed.form_errors(exc.fields)}
        problem = exc.fields.get("bypass_approval")
        extra = {
            "resolution": Resolution(message, errors, texts),
            "resolve_form": replace(sent, message=bypass_refused(problem) if problem else None),
            "resolve_submission": form.text("submission"),  # nothing published: the same form
        }
        return await incident_screen(
            request, viewer, resolve_step=True, block="resolve", status_code=422, extra=extra
        )
    except idempotency.KeyReused:
        extra = {
            "resolution": Resolution(message, {}, texts),
            "resolve_form": replace(sent, message=REUSED),
            "resolve_submission": new_token(),
        }
        return await incident_screen(
            request, viewer, resolve_step=True, block="resolve", status_code=409, extra=extra
        )
    except NotAllowed as exc:
        # Resolved by a colleague meanwhile: the step again, with what was typed, to copy.
        try:
            by, at = await state.read(lambda session: resolved_first(session, slug))
        except NotFound as gone:
            return refused_page(request, viewer, gone)
        refusal = replace(
            sent, message=exc.message, resolved_by=by, resolved_at=at, already_resolved=at is not None
        )
        extra = {"resolution": Resolution(message, {}, texts), "resolve_form": refusal}
        return await incident_screen(
            request, viewer, resolve_step=True, block="resolve", status_code=409, extra=extra
        )
    except NotFound as exc:
        return refused_page(request, viewer, exc)
    return see_other(
        request, f"/console/incidents/{slug}?notice={'resolved' if done else 'pending_approval'}"
    )


@access(Access.PUBLISHER, STAFF)
async def reopen(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    reason = form.text("reason")
    try:
        await state.write(
            lambda session: reopen_incident(session, viewer.actor, slug, reason, routing=state.routing)
        )
    except InvalidInput as exc:
        extra = {"reopening": Reopening(reason, exc.fields)}
        return await incident_screen(request, viewer, block="reopen", status_code=422, extra=extra)
    except NotAllowed as exc:
        extra = {"reopening": Reopening(reason, message=exc.message)}
        return await incident_screen(request, viewer, block="reopen", status_code=409, extra=extra)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    return see_other(request, f"/console/incidents/{slug}?notice=reopened")
