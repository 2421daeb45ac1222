"""Rumor control in the console: the rumor responses published so far, a form to publish a
new one (per incident or agency-wide) and one to correct each (a new version with a reason)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import idempotency, rumors
from console.domain.errors import InvalidInput, NotFound, VersionConflict
from console.models import Incident, IncidentStatus, Verdict
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import Form, read_form
from console.web.staff.rendering import error_page, render, see_other
from console.web.staff.submission import REUSED, Submission, new_token, once
from console.web.state import AppState, app_state

TEMPLATE = "console/rumors.html"
FIELDS = ("incident", "claim", "seen_at", "verdict", "facts", "reason")
VERDICTS = [verdict.value for verdict in Verdict]


def _answer(location: str) -> idempotency.Answer:
    """Where a published form leads: where the same form sent again leads too."""
    return idempotency.Answer(303, {}, location)


def _typed(form: Form | None, languages: tuple[str, ...] = ()) -> dict[str, str]:
    """What was typed, the translations' fields (`tr-{lang}-claim`, `…-facts`) too."""
    names = [*FIELDS, *(f"tr-{lang}-{part}" for lang in languages for part in ("claim", "facts"))]
    return {name: form.text(name) if form else "" for name in names}


def _translations(form: Form, languages: tuple[str, ...]) -> list[rumors.RumorTranslationDraft]:
    drafts = []
    for lang in languages:
        claim, facts = form.text(f"tr-{lang}-claim"), form.text(f"tr-{lang}-facts")
        if claim.strip() or facts.strip():
            drafts.append(rumors.RumorTranslationDraft(lang, claim, facts))
    return drafts


def _publishing(form: Form, state: AppState) -> rumors.RumorPublishing:
    return rumors.RumorPublishing(
        routing=state.routing,
        languages=state.languages,
        translations=_translations(form, state.languages.translated),
    )


def _draft(form: Form) -> rumors.RumorDraft:
    return rumors.RumorDraft(
        claim=form.text("claim"),
        verdict=form.text("verdict"),
        facts=form.text("facts"),
        seen_at=form.text("seen_at") or None,
    )


async def _screen(request: Request, viewer: Viewer, *, status_code: int = 200, **context: Any) -> Response:
    state = app_state(request)

    def work(session: Session) -> tuple[list[rumors.RumorEntry], list[tuple[str, str]]]:
        incidents = session.execute(
            select(Incident.slug, Incident.title)
            .where(Incident.status == IncidentStatus.ACTIVE)
            .order_by(Incident.updated_at.desc())
        )
        return rumors.rumor_entries(session), [(slug, title) for slug, title in incidents]

    entries, incidents = await state.read(work)
    full = {
        "entries": entries,
        "incidents": incidents,
        "verdicts": VERDICTS,
        "translated": state.languages.translated,
        "typed": _typed(None),
        "errors": {},
        "correcting": None,
        "headline": rumors.headline,
        "message": None,
        # A new token at every rendering: each form shown is one submission.
        "submission": new_token(),
        **context,
    }
    return render(request, TEMPLATE, full, viewer=viewer, status_code=status_code)


@access(Access.READER, STAFF)
async def rumors_screen(request: Request, viewer: Viewer) -> Response:
    return await _screen(request, viewer)


@access(Access.PUBLISHER, STAFF)
async def publish_rumor_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    publishing = _publishing(form, state)
    typed = _typed(form, state.languages.translated)
    submission = Submission.of(request, viewer, form, typed)

    def publish(session: Session) -> idempotency.Answer:
        published = rumors.publish_rumor(
            session,
            viewer.actor,
            _draft(form),
            incident_slug=form.text("incident") or None,
            now=state.clock(),
            **publishing,
        )
        return _answer(f"/console/rumors?notice=rumor_published#rumor-{published.rumor.id}")

    try:
        answer = await state.write(lambda session: once(submission, session, publish))
    except (InvalidInput, NotFound) as exc:
        errors = exc.fields if isinstance(exc, InvalidInput) else {"incident": exc.message}
        return await _screen(request, viewer, status_code=422, typed=typed, errors=errors)
    except idempotency.KeyReused:
        return await _screen(request, viewer, status_code=409, typed=typed, message=REUSED)
    return see_other(request, answer.location or "/console/rumors")


@access(Access.PUBLISHER, STAFF)
async def correct_rumor_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    publishing = _publishing(form, state)
    rumor_id = request.path_params["rumor_id"]
    typed = _typed(form, state.languages.translated)
    submission = Submission.of(
        request, viewer, form, {**typed, "corrects_version": form.text("corrects_version")}
    )

    def correct(session: Session) -> idempotency.Answer:
        rumors.correct_rumor(
            session,
            viewer.actor,
            rumor_id,
            _draft(form),
            reason=form.text("reason"),
            corrects_version=form.integer("corrects_version") or 0,
            now=state.clock(),
            **publishing,
        )
        return _answer(f"/console/rumors?notice=rumor_corrected#rumor-{rumor_id}")

    try:
        answer = await state.write(lambda session: once(submission, session, correct))
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    except idempotency.KeyReused:
        return await _screen(
            request, viewer, status_code=409, typed=typed, correcting=rumor_id, message=REUSED
        )
    except (InvalidInput, VersionConflict) as exc:
        if isinstance(exc, VersionConflict):
            errors = {"facts": f"version {exc.current['version']} was published since you started; check it"}
            status = 409
        else:
            errors, status = exc.fields, 422
        return await _screen(
            request, viewer, status_code=status, typed=typed, errors=errors, correcting=rumor_id
        )
    return see_other(request, answer.location or "/console/rumors")
