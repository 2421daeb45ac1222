"""An update's screen: its history, correct (with a diff), confirm, retract, delivery status.

Every change names the version the PIO was looking at. If a colleague published a newer
one meanwhile, nothing is written: the screen shows the newer text and what changed in it,
and keeps everything this PIO typed, now aimed at the newer version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from console.domain import delivery_status, fanout, outbox, previews, timeline, versions
from console.domain.delivery_status import EventDeliveries
from console.domain.errors import DomainError, InvalidInput, NotAllowed, NotFound, VersionConflict
from console.domain.post_runs import TextRules
from console.domain.previews import DraftText
from console.domain.timeline import UpdateCard
from console.domain.updates import (
    Draft,
    Published,
    confirm_update,
    correct_update,
    get_update,
    retract_update,
)
from console.languages import Languages
from console.models import Incident, Update, UpdateVersion, VersionKind
from console.web.access import Access, access
from console.web.staff.auth import Viewer, flash, local_path, staff_view
from console.web.staff.forms import Form, read_form
from console.web.staff.incidents import error_page, since_param
from console.web.staff.rendering import is_htmx, render, see_other
from console.web.staff.translations import TranslationPanel, TypedTranslations, panel
from console.web.state import app_state

UPDATE = "console/update.html"
RETRACTED = "This update was retracted; a retracted update takes no new versions."
NO_BASE = "The form did not say which version it changes. Reload the page and try again."


@dataclass
class UpdateData:
    incident: Incident
    update: Update
    versions: list[UpdateVersion]  # oldest first
    card: UpdateCard
    events: list[EventDeliveries]
    latest_event_id: int
    translations: TranslationPanel | None = None  # None when LANGUAGES names one language
    # Per event, each alert channel's fan-out progress (issue 16; empty without subscribers).
    fanout: dict[int, list[fanout.Progress]] = field(default_factory=dict)

    @property
    def current(self) -> UpdateVersion:
        return self.versions[-1]

    @property
    def retracted(self) -> bool:
        return self.current.kind is VersionKind.RETRACTION

    def version(self, number: int | None) -> UpdateVersion | None:
        return next((v for v in self.versions if v.version == number), None)

    def events_of(self, number: int) -> list[EventDeliveries]:
        return [event for event in self.events if event.version == number]


def load_update(
    session: Session, update_id: int, channel_order: tuple[str, ...], languages: Languages | None = None
) -> UpdateData:
    update = get_update(session, update_id)
    incident = update.incident
    oldest_first = versions.versions_of(session, update.id)
    translated = languages is not None and bool(languages.translated)
    events = delivery_status.for_incident(
        session, incident.id, update_id=update.id, channel_order=channel_order
    )
    return UpdateData(
        incident=incident,
        update=update,
        versions=oldest_first,
        card=timeline.card(incident.slug, incident.alert_status, update.id, update.seq, oldest_first),
        events=events,
        latest_event_id=delivery_status.latest_event_id(session, incident.id, update_id=update.id),
        translations=panel(session, update.id, oldest_first, languages) if translated and languages else None,
        fanout=fanout.progress(session, [event.event_id for event in events]),
    )


@dataclass
class Action:
    """The state of one of the screen's forms (correct, confirm or retract).

    `mode`: "edit" (the form), "review" (check before publishing), "conflict" (a newer
    version appeared; the form again, aimed at it). `stale_version` is the version the PIO
    had been looking at when the conflict was found.
    """

    draft: DraftText
    corrects_version: int
    mode: str = "edit"
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    stale_version: int | None = None
    translations: TypedTranslations | None = None  # typed with a correction


async def _load(request: Request) -> UpdateData:
    state = app_state(request)
    update_id = request.path_params["update_id"]
    return await state.read(
        lambda session: load_update(session, update_id, state.settings.channels, state.languages)
    )


async def render_update_screen(
    request: Request,
    viewer: Viewer,
    *,
    translation_form: TranslationPanel | None = None,
    status_code: int = 200,
) -> Response:
    """The update screen, with what was typed in its translation form kept (after a refusal)."""
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    if data.translations is not None and translation_form is not None:
        data.translations.typed = translation_form.typed
        data.translations.errors = translation_form.errors
        data.translations.message = translation_form.message
    return await _render(request, viewer, data, status_code=status_code)


async def _render(
    request: Request,
    viewer: Viewer,
    data: UpdateData,
    *,
    actions: dict[str, Action] | None = None,
    status_code: int = 200,
    block: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    state = app_state(request)
    current = data.current
    as_is = DraftText(headline=current.headline or "", body=current.body, preliminary=current.preliminary)
    chosen = actions or {}
    correct = chosen.get("correct") or Action(as_is, current.version)
    if correct.translations is None:
        correct.translations = TypedTranslations(state.languages)
    confirm = chosen.get("confirm") or Action(DraftText(), current.version)
    retract = chosen.get("retract") or Action(DraftText(), current.version)

    def preview(
        kind: VersionKind, draft: DraftText, errors: dict[str, str], rules: dict[str, TextRules]
    ) -> previews.ChannelPreview | None:
        if not draft.body.strip() or {"headline", "body"} & set(errors):
            return None
        return previews.preview(
            draft,
            kind=kind,
            incident_slug=data.incident.slug,
            alert_status=data.incident.alert_status,
            public_url=state.settings.public_url,
            seq=data.update.seq,
            now=state.clock(),
            update_id=data.update.id,
            earlier=data.versions,
            author_name=viewer.display_name,
            post_rules=rules,
        )

    confirmed_text = DraftText(as_is.headline, as_is.body, False, confirm.draft.reason)
    retracted_text = DraftText(as_is.headline, as_is.body, as_is.preliminary, retract.draft.reason)

    def all_previews() -> list[previews.ChannelPreview | None]:
        # Measuring a post can take seconds for long CJK text: not on the event loop.
        rules = state.post_rules()
        return [
            preview(VersionKind.CORRECTION, correct.draft, correct.errors, rules),
            preview(VersionKind.CONFIRMATION, confirmed_text, {}, rules),
            preview(VersionKind.RETRACTION, retracted_text, {}, rules),
        ]

    correct_preview, confirm_preview, retract_preview = await run_in_threadpool(all_previews)
    context = {
        "data": data,
        "incident": data.incident,
        "update": data.update,
        "current": current,
        "correct": correct,
        "confirm": confirm,
        "retract": retract,
        "correct_preview": correct_preview,
        "confirm_preview": confirm_preview,
        "retract_preview": retract_preview,
        "since": data.latest_event_id,
        "oob": False,
        "languages": state.languages,
        **(extra or {}),
    }
    return render(request, UPDATE, context, viewer=viewer, status_code=status_code, block=block)


@access(Access.READER)
@staff_view()
async def update_page(request: Request, viewer: Viewer) -> Response:
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    return await _render(request, viewer, data)


def _typed(form: Form) -> DraftText:
    return DraftText(
        headline=form.text("headline"),
        body=form.text("body"),
        preliminary=form.flag("preliminary"),
        reason=form.text("reason"),
    )


async def _publish(
    request: Request,
    viewer: Viewer,
    work: Callable[[Session], Published],
    *,
    action: Action,
    slot: str,
    notice: str,
) -> Response:
    """Run a publishing service; on a conflict or bad input, show the form again with the text kept."""
    state = app_state(request)
    try:
        await state.write(work)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    except DomainError as exc:
        data = await _load(request)
        if isinstance(exc, VersionConflict):
            stale = Action(
                action.draft,
                data.current.version,
                "conflict",
                stale_version=exc.named_version,
                translations=action.translations,
            )
            return await _render(request, viewer, data, status_code=409, block=slot, actions={slot: stale})
        if isinstance(exc, InvalidInput):
            typed = action.translations
            errors = {**exc.fields, **(typed.form_errors(exc.fields) if typed else {})}
            retry = Action(action.draft, action.corrects_version, "edit", errors=errors, translations=typed)
            return await _render(request, viewer, data, status_code=422, block=slot, actions={slot: retry})
        if isinstance(exc, NotAllowed):
            refused = Action(
                action.draft,
                action.corrects_version,
                "edit",
                message=exc.message,
                translations=action.translations,
            )
            return await _render(request, viewer, data, status_code=409, block=slot, actions={slot: refused})
        raise
    return see_other(request, f"/console/updates/{request.path_params['update_id']}?notice={notice}")


def _precheck(data: UpdateData, action: Action) -> tuple[Action, int] | None:
    """Problems found before anything is published: a newer version, retracted, no base version."""
    typed = action.translations
    if action.corrects_version <= 0:
        return Action(action.draft, data.current.version, "edit", message=NO_BASE, translations=typed), 422
    if action.corrects_version != data.current.version:
        stale = action.corrects_version
        return Action(
            action.draft, data.current.version, "conflict", stale_version=stale, translations=typed
        ), 409
    if data.retracted:
        return Action(action.draft, data.current.version, "edit", message=RETRACTED, translations=typed), 409
    return None


@access(Access.PUBLISHER)
@staff_view()
async def correction_preview(request: Request, viewer: Viewer) -> Response:
    form = await read_form(request)
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    draft = _typed(form)
    action = Action(draft, form.integer("corrects_version") or 0, errors=_correction_errors(draft, data))
    return await _render(request, viewer, data, actions={"correct": action}, block="correct_preview")


def _correction_errors(draft: DraftText, data: UpdateData) -> dict[str, str]:
    errors = previews.check(draft, reason_required=True)
    if "body" not in errors and versions.unchanged(draft, data.current):
        errors["body"] = "is the same as the current version: change the text or the PRELIMINARY box"
    return errors


@access(Access.PUBLISHER)
@staff_view()
async def correct(request: Request, viewer: Viewer) -> Response:
    """Two steps, like publishing: `step=review` shows the word-level diff, `step=publish` publishes."""
    state = app_state(request)
    form = await read_form(request)
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    draft = _typed(form)
    typed = TypedTranslations.read(form, state.languages)
    action = Action(draft, form.integer("corrects_version") or 0, translations=typed)
    step = form.text("step")
    if step not in ("review", "publish"):
        return await _render(request, viewer, data, actions={"correct": action}, block="correct")
    problem = _precheck(data, action)
    if problem is not None:
        return await _render(
            request, viewer, data, actions={"correct": problem[0]}, status_code=problem[1], block="correct"
        )
    errors = {**_correction_errors(draft, data), **typed.check()}
    if errors:
        action.errors = errors
        return await _render(
            request, viewer, data, actions={"correct": action}, status_code=422, block="correct"
        )
    if step == "review":
        action.mode = "review"
        return await _render(request, viewer, data, actions={"correct": action}, block="correct")
    text = Draft(body=draft.body, headline=draft.headline, preliminary=draft.preliminary)
    return await _publish(
        request,
        viewer,
        lambda session: correct_update(
            session,
            viewer.actor,
            data.update.id,
            text,
            reason=draft.reason,
            corrects_version=action.corrects_version,
            routing=state.routing,
            translations=typed.for_service(),
        ),
        action=action,
        slot="correct",
        notice="corrected",
    )


@access(Access.PUBLISHER)
@staff_view()
async def confirm(request: Request, viewer: Viewer) -> Response:
    """Drop PRELIMINARY: one action, then one confirmation (`confirmed=yes`)."""
    state = app_state(request)
    form = await read_form(request)
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    reason = form.text("reason")
    action = Action(DraftText(reason=reason), form.integer("corrects_version") or 0)
    problem = _precheck(data, action)
    if problem is None and not data.current.preliminary:
        problem = Action(action.draft, data.current.version, message="This update is already confirmed."), 409
    if problem is not None:
        return await _render(
            request, viewer, data, actions={"confirm": problem[0]}, status_code=problem[1], block="confirm"
        )
    errors = previews.check(DraftText(body=data.current.body, reason=reason), reason_required=False)
    if errors:
        action.errors = errors
        return await _render(
            request, viewer, data, actions={"confirm": action}, status_code=422, block="confirm"
        )
    if not form.flag("confirmed"):
        action.mode = "review"
        return await _render(request, viewer, data, actions={"confirm": action}, block="confirm")
    return await _publish(
        request,
        viewer,
        lambda session: confirm_update(
            session,
            viewer.actor,
            data.update.id,
            corrects_version=action.corrects_version,
            reason=reason or None,
            routing=state.routing,
        ),
        action=action,
        slot="confirm",
        notice="confirmed",
    )


@access(Access.PUBLISHER)
@staff_view()
async def retract(request: Request, viewer: Viewer) -> Response:
    """Withdraw the update: a reason, then one confirmation (`confirmed=yes`)."""
    state = app_state(request)
    form = await read_form(request)
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    reason = form.text("reason")
    action = Action(DraftText(reason=reason), form.integer("corrects_version") or 0)
    problem = _precheck(data, action)
    if problem is not None:
        return await _render(
            request, viewer, data, actions={"retract": problem[0]}, status_code=problem[1], block="retract"
        )
    errors = previews.check(DraftText(body=data.current.body, reason=reason), reason_required=True)
    if errors:
        action.errors = errors
        return await _render(
            request, viewer, data, actions={"retract": action}, status_code=422, block="retract"
        )
    if not form.flag("confirmed"):
        action.mode = "review"
        return await _render(request, viewer, data, actions={"retract": action}, block="retract")
    return await _publish(
        request,
        viewer,
        lambda session: retract_update(
            session,
            viewer.actor,
            data.update.id,
            reason=reason,
            corrects_version=action.corrects_version,
            routing=state.routing,
        ),
        action=action,
        slot="retract",
        notice="retracted",
    )


@access(Access.READER)
@staff_view(activity=False)
async def update_deliveries(request: Request, viewer: Viewer) -> Response:
    """Polled by the update screen: every delivery chip, swapped in place (htmx out-of-band)."""
    try:
        data = await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    extra = {"oob": True, "since": since_param(request)}
    return await _render(request, viewer, data, block="deliveries", extra=extra)


@access(Access.PUBLISHER)
@staff_view()
async def retry_delivery(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    back = local_path(form.text("next"))
    delivery_id = request.path_params["delivery_id"]
    try:
        await state.write(lambda session: outbox.retry(session, viewer.actor, delivery_id, now=state.clock()))
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    except NotAllowed as exc:
        if is_htmx(request):
            return flash(request, viewer, exc.message, 409)
        return error_page(request, viewer, exc.message, 409)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Trigger": "deliveries-changed"})
    separator = "&" if "?" in back else "?"
    return see_other(request, f"{back}{separator}notice=retry_requested")
