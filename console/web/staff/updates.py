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

from console.domain import (
    approval,
    autosave,
    delivery_status,
    fanout,
    idempotency,
    merging,
    outbox,
    previews,
    timeline,
    updates,
    versions,
)
from console.domain.alerting import NOTHING, Alerting, stored_alerting
from console.domain.autosave import FormName, Saved
from console.domain.delivery_status import EventDeliveries
from console.domain.errors import DomainError, InvalidInput, NotAllowed, NotFound, VersionConflict
from console.domain.post_runs import TextRules
from console.domain.previews import DraftText
from console.domain.reverts import Revert
from console.domain.reverts import reverts as find_reverts
from console.domain.timeline import UpdateCard
from console.domain.updates import ChangeRequest, Draft, Published, get_update
from console.languages import Languages
from console.models import Incident, Update, UpdateVersion, VersionKind
from console.web.access import Access, Endpoint, access
from console.web.staff.alerting_form import FORM_NAMES, TypedAlerting, saved_alerting
from console.web.staff.auth import (
    RESENT_FORM,
    STAFF,
    STAFF_POLLING,
    STAFF_REVIEWED,
    Viewer,
    flash,
    local_path,
)
from console.web.staff.forms import Form, read_form
from console.web.staff.incidents import since_param
from console.web.staff.rendering import error_page, is_htmx, render, see_other
from console.web.staff.submission import REUSED, Submission, new_token, once
from console.web.staff.translations import (
    TranslationPanel,
    TypedTranslations,
    alerting_fields,
    panel,
)
from console.web.state import AppState, app_state

UPDATE = "console/update.html"
RETRACTED = "This update was retracted; a retracted update takes no new versions."
NO_BASE = "The form did not say which version it changes. Reload the page and try again."
PICK_EVERY_CHOICE = "Pick one side of every difference marked below: nothing is chosen for you."
REVERT_NOT_TICKED = (
    "Nothing was published: your text undoes a colleague's newer change (listed above). "
    "Tick the box to publish the revert, or go back and edit your text."
)


def bypass_refused(problem: str) -> str:
    """The form's message when "Emergency: publish now" came with no usable reason."""
    return f"Nothing was published: the reason for publishing without approval {problem}."


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
    # Version → the reason it was published without approval (issue 18).
    bypassed: dict[int, str] = field(default_factory=dict)

    @property
    def current(self) -> UpdateVersion:
        return self.versions[-1]

    @property
    def retracted(self) -> bool:
        return self.current.kind is VersionKind.RETRACTION

    @property
    def current_translations(self) -> dict[str, tuple[str, str]]:
        """Each language's newest translation (headline, body): the correct form starts with them."""
        rows = self.translations.rows if self.translations else []
        return {row.lang: (row.shown.headline or "", row.shown.body) for row in rows if row.shown}

    @property
    def current_translated_alerting(self) -> dict[str, dict[str, str]]:
        """Each language's newest instruction and WEA texts, as the correct form's fields."""
        rows = self.translations.rows if self.translations else []
        return {row.lang: alerting_fields(row.alerting) for row in rows if row.shown}

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
        bypassed={
            bypass.version: bypass.reason
            for bypass in approval.bypasses(session, incident_id=incident.id, limit=None)
            if bypass.update_id == update.id
        },
    )


@dataclass
class ActionForm:
    """The state of one of the screen's forms (correct, confirm or retract).

    `mode`: "edit" (the form), "review" (check before publishing), "conflict" (a newer
    version appeared; the form again, aimed at it), "merge" (the PIO's changes applied to the
    newer version, with the overlapping ones to pick). `stale_version` is the version the PIO
    had been looking at when the conflict was found. `started_from`: the version the PIO's
    text was written from, kept across conflicts (None: `corrects_version`); `reverts`: what
    the text would undo of the versions since, shown at review and published only when ticked.
    """

    draft: DraftText
    corrects_version: int
    mode: str = "edit"
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    stale_version: int | None = None
    translations: TypedTranslations | None = None  # typed with a correction
    started_from: int | None = None
    reverts: list[Revert] = field(default_factory=list)
    merge: merging.MergedDraft | None = None  # mode "merge": the PIO's edit applied to the newer text
    picks: dict[int, merging.Side] = field(default_factory=dict)
    restored: Saved | None = None  # a correction the PIO typed earlier, saved as they typed
    alerting: TypedAlerting | None = None  # "Alert details" typed with a correction (issue 17)
    # Set on the review step, as the compose form's: publishing the same reviewed form twice
    # (a double click, a form sent again after a lost answer) publishes once, and the second
    # answer says what the first published.
    submission: str | None = None
    # The review step's boxes as sent, kept when it is shown again (a bypass without a reason):
    # "Emergency: publish now, without approval" and its reason, "publish the revert".
    bypass_approval: bool = False
    bypass_reason: str = ""
    confirm_revert: bool = False

    @property
    def base(self) -> int:
        return self.corrects_version if self.started_from is None else self.started_from

    @classmethod
    def from_saved(cls, saved: Saved, data: UpdateData, languages: Languages) -> ActionForm:
        """The correct form as its author left it, aimed at the version they were correcting
        (an older one than the current leads to the conflict and the three texts); the
        languages they did not change pre-filled with their current translation."""
        typed = saved.typed
        translations = TypedTranslations.kept(
            typed.translations,
            languages,
            data.current_translations,
            alerting=typed.translated_alerting,
            prefilled_alerting=data.current_translated_alerting,
        )
        current_version = data.current.version
        corrects = saved.base_version or current_version
        # Alert details not saved with it (saved before they were): the current version's.
        alerting = saved_alerting(saved)
        return cls(typed.text, corrects, translations=translations, restored=saved, alerting=alerting)


async def _load(request: Request) -> UpdateData:
    state = app_state(request)
    update_id = request.path_params["update_id"]
    return await state.read(
        lambda session: load_update(session, update_id, state.settings.channels, state.languages)
    )


async def _found(request: Request, viewer: Viewer) -> UpdateData | Response:
    """The update the path names, or the 404 page when there is none."""
    try:
        return await _load(request)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)


async def render_update_screen(
    request: Request,
    viewer: Viewer,
    *,
    translation_form: TranslationPanel | None = None,
    status_code: int = 200,
) -> Response:
    """The update screen, with what was typed in its translation form kept (after a refusal)."""
    data = await _found(request, viewer)
    if isinstance(data, Response):
        return data
    if data.translations is not None and translation_form is not None:
        data.translations.typed = translation_form.typed
        data.translations.typed_alerting = translation_form.typed_alerting
        data.translations.errors = translation_form.errors
        data.translations.message = translation_form.message
    return await _render(request, viewer, data, status_code=status_code)


async def _render(
    request: Request,
    viewer: Viewer,
    data: UpdateData,
    *,
    actions: dict[str, ActionForm] | None = None,
    status_code: int = 200,
    block: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    state = app_state(request)
    current = data.current
    as_is = DraftText(headline=current.headline or "", body=current.body, preliminary=current.preliminary)
    chosen = actions or {}
    correct = chosen.get("correct") or ActionForm(as_is, current.version)
    if correct.alerting is None:  # the form as it opens: the current version's alert details
        correct.alerting = TypedAlerting.of(stored_alerting(current.alerting), state.settings.zone)
    if correct.translations is None:  # the form as it opens: each language's translation in it
        current_alerting = data.current_translated_alerting
        correct.translations = TypedTranslations.kept(
            {}, state.languages, data.current_translations, prefilled_alerting=current_alerting
        )
    confirm = chosen.get("confirm") or ActionForm(DraftText(), current.version)
    retract = chosen.get("retract") or ActionForm(DraftText(), current.version)

    def preview(
        kind: VersionKind,
        draft: DraftText,
        errors: dict[str, str],
        rules: dict[str, TextRules],
        alerting: Alerting = NOTHING,
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
            incident_title=data.incident.title,
            alerting=alerting,
        )

    confirmed_text = DraftText(as_is.headline, as_is.body, False, confirm.draft.reason)
    retracted_text = DraftText(as_is.headline, as_is.body, as_is.preliminary, retract.draft.reason)

    correct_alerting = correct.alerting.check(state.settings.zone)[0]

    def all_previews() -> list[previews.ChannelPreview | None]:
        # Measuring a post can take seconds for long CJK text: not on the event loop.
        rules = state.post_rules()
        return [
            preview(VersionKind.CORRECTION, correct.draft, correct.errors, rules, correct_alerting),
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
        "approval_required": state.settings.approval_required,
        "confirm_preview": confirm_preview,
        "retract_preview": retract_preview,
        "since": data.latest_event_id,
        "oob": False,
        "languages": state.languages,
        "already": data.version(_already_param(request)),
        **(extra or {}),
    }
    return render(request, UPDATE, context, viewer=viewer, status_code=status_code, block=block)


def _already_param(request: Request) -> int | None:
    """`?already=N`: the form just sent had published version N before (its answer was lost)."""
    value = request.query_params.get("already", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


@access(Access.READER, STAFF)
async def update_page(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    update_id = request.path_params["update_id"]

    def load(session: Session) -> tuple[UpdateData, Saved | None]:
        data = load_update(session, update_id, state.settings.channels, state.languages)
        return data, autosave.restore(session, viewer.actor, FormName.CORRECT, update_id)

    try:
        data, saved = await state.read(load)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    if saved is None or data.retracted:
        return await _render(request, viewer, data)
    restored = ActionForm.from_saved(saved, data, state.languages)
    return await _render(request, viewer, data, actions={"correct": restored})


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
    work: Callable[[Session], object],
    *,
    action: ActionForm,
    slot: str,
    notice: str,
) -> Response:
    """Run a publishing service; on a conflict or bad input, show the form again with the text kept.
    `work` answers `idempotency.Answer` when the same reviewed form had published already."""
    state = app_state(request)
    try:
        done = await state.write(work)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    except DomainError as exc:
        data = await _load(request)
        if isinstance(exc, VersionConflict):
            stale = ActionForm(
                action.draft,
                data.current.version,
                "conflict",
                stale_version=exc.named_version,
                translations=action.translations,
                started_from=action.base,
                alerting=action.alerting,
            )
            return await _render(request, viewer, data, status_code=409, block=slot, actions={slot: stale})
        if isinstance(exc, InvalidInput):
            typed = action.translations
            errors = {**exc.fields, **(typed.form_errors(exc.fields) if typed else {})}
            retry = ActionForm(
                action.draft,
                action.corrects_version,
                "edit",
                errors={
                    **errors,
                    **{FORM_NAMES.get(name, name): problem for name, problem in errors.items()},
                },
                translations=typed,
                started_from=action.started_from,
                alerting=action.alerting,
            )
            return await _render(request, viewer, data, status_code=422, block=slot, actions={slot: retry})
        if isinstance(exc, NotAllowed | idempotency.KeyReused):
            refused = ActionForm(
                action.draft,
                action.corrects_version,
                "edit",
                message=REUSED if isinstance(exc, idempotency.KeyReused) else exc.message,
                translations=action.translations,
                alerting=action.alerting,
            )
            return await _render(request, viewer, data, status_code=409, block=slot, actions={slot: refused})
        raise
    if isinstance(done, idempotency.Answer):
        return _replayed(request, done)
    return see_other(request, _done_path(request, notice))


def _done_path(request: Request, notice: str) -> str:
    return f"/console/updates/{request.path_params['update_id']}?notice={notice}"


def _answer(request: Request, notice: str, version: int | None) -> idempotency.Answer:
    """What a reviewed form's token answers when sent again: where it led, and the version it
    published (none when it waits for approval)."""
    return idempotency.Answer(303, {"version": version}, _done_path(request, notice))


def _submitted(sent: ActionForm) -> dict[str, Any]:
    """What a reviewed form sends, as its submission token is keyed to."""
    draft, typed, said = sent.draft, sent.translations, sent.alerting
    return {
        "corrects_version": sent.corrects_version,
        "started_from": sent.started_from,
        "headline": draft.headline,
        "body": draft.body,
        "preliminary": draft.preliminary,
        "reason": draft.reason,
        **({"translations": typed.values, "translations_alerting": typed.alerting} if typed else {}),
        **({"alerting": said.fingerprint()} if said is not None else {}),
    }


def _replayed(request: Request, answer: idempotency.Answer) -> Response:
    """The first answer again, marked as already published (`?already=N` names the version)."""
    location = answer.location or f"/console/updates/{request.path_params['update_id']}"
    version = answer.body.get("version")
    return see_other(request, location if version is None else f"{location}&already={int(version)}")


def _precheck(data: UpdateData, action: ActionForm) -> tuple[ActionForm, int] | None:
    """Problems found before anything is published: a newer version, retracted, no base version."""
    typed, said = action.translations, action.alerting
    if action.corrects_version <= 0:
        return ActionForm(
            action.draft, data.current.version, "edit", message=NO_BASE, translations=typed, alerting=said
        ), 422
    if action.corrects_version != data.current.version:
        stale = action.corrects_version
        return ActionForm(
            action.draft,
            data.current.version,
            "conflict",
            stale_version=stale,
            translations=typed,
            started_from=action.base,
            alerting=said,
        ), 409
    if data.retracted:
        return ActionForm(
            action.draft, data.current.version, "edit", message=RETRACTED, translations=typed, alerting=said
        ), 409
    return None


@access(Access.PUBLISHER, STAFF_REVIEWED)
async def correction_preview(request: Request, viewer: Viewer) -> Response:
    form = await read_form(request)
    data = await _found(request, viewer)
    if isinstance(data, Response):
        return data
    draft = _typed(form)
    action = ActionForm(
        draft,
        form.integer("corrects_version") or 0,
        errors=_correction_errors(draft, data),
        alerting=TypedAlerting.read(form),
    )
    extra = {"refresh_translation_changes": is_htmx(request)}
    return await _render(
        request, viewer, data, actions={"correct": action}, block="correct_preview", extra=extra
    )


def _correction_errors(draft: DraftText, data: UpdateData, alerting: Alerting = NOTHING) -> dict[str, str]:
    errors = previews.check(draft, reason_required=True)
    current = stored_alerting(data.current.alerting)
    if "body" not in errors and versions.unchanged(draft, data.current) and alerting.over(current) == current:
        errors["body"] = "is the same as the current version: change the text or the PRELIMINARY box"
    return errors


def _step(form: Form, action: updates.Action) -> str:
    """ "edit", "merge", "review" or "publish". An action that brings new text (a correction)
    goes in two steps like publishing: `step=review` shows the word-level diff, `step=publish`
    publishes; after a conflict, `step=merge` applies the PIO's changes to the newer version.
    The others are one action and one confirmation (`confirmed=yes`)."""
    if action.new_text:
        step = form.text("step")
        return step if step in ("merge", "review", "publish") else "edit"
    return "publish" if form.flag("confirmed") else "review"


def _errors(
    action: updates.Action,
    draft: DraftText,
    data: UpdateData,
    typed: TypedTranslations | None,
    alerting: Alerting = NOTHING,
) -> dict[str, str]:
    if action.new_text:
        return {**_correction_errors(draft, data, alerting), **(typed.check() if typed else {})}
    kept = DraftText(body=data.current.body, reason=draft.reason)
    return previews.check(kept, reason_required=action.reason_required)


def waits_for_approval(state: AppState, action: updates.Action) -> bool:
    return approval.required_for(state.settings.approval_required, action.kind)


async def change_view(request: Request, viewer: Viewer, action: updates.Action) -> Response:
    """The one path of correct, confirm and retract: check, ask for review, then publish."""
    state = app_state(request)
    form = await read_form(request)
    data = await _found(request, viewer)
    if isinstance(data, Response):
        return data
    slot = action.name
    typed = TypedTranslations.read(form, state.languages) if action.new_text else None
    draft = _typed(form) if action.new_text else DraftText(reason=form.text("reason"))
    started_from = form.integer("started_from") if action.new_text else None
    started_from = started_from if started_from else None  # 0 or missing: the corrected version
    alerting_typed = TypedAlerting.read(form) if action.new_text else None
    alerting, alerting_errors = (
        alerting_typed.check(state.settings.zone) if alerting_typed is not None else (NOTHING, {})
    )
    chosen = ActionForm(
        draft,
        form.integer("corrects_version") or 0,
        translations=typed,
        started_from=started_from,
        alerting=alerting_typed,
    )
    step = _step(form, action)
    if viewer.resent_form and step == "publish":
        step = "review"  # a form from before signing in again: shown back, never acted on
    submission = Submission.of(request, viewer, form, _submitted(chosen)) if step == "publish" else None
    if submission is not None:
        # Sent again (its answer lost, a double click): what it published, never a conflict
        # with its own version. Read after the update, so its version is never newer than this.
        earlier = await state.read(submission.published_before)
        if earlier is not None:
            return _replayed(request, earlier)
    if step == "edit":
        return await _render(request, viewer, data, actions={slot: chosen}, block=slot)
    if step == "merge":
        merged, status = _apply_to_newer(form, data, chosen)
        if merged.mode == "merge" or status != 200:
            return await _render(
                request, viewer, data, actions={slot: merged}, status_code=status, block=slot
            )
        chosen, draft, step = merged, merged.draft, "review"
    problem = _precheck(data, chosen)
    refusal = action.refusal(data.current)
    if problem is None and refusal is not None:
        refused = ActionForm(
            chosen.draft,
            data.current.version,
            message=f"This update {refusal}.",
            translations=chosen.translations,
            alerting=chosen.alerting,
        )
        problem = refused, 409
    if problem is not None:
        return await _render(
            request, viewer, data, actions={slot: problem[0]}, status_code=problem[1], block=slot
        )
    errors = {**_errors(action, draft, data, typed, alerting), **alerting_errors}
    if errors:
        chosen.errors = errors
        return await _render(request, viewer, data, actions={slot: chosen}, status_code=422, block=slot)
    if action.new_text and chosen.base < data.current.version:
        chosen.reverts = find_reverts(data.versions, chosen.base, draft.headline_or_none, draft.body.strip())
    if step == "publish" and chosen.reverts and not form.flag("confirm_revert"):
        chosen.mode, chosen.errors = "review", {"reverts": REVERT_NOT_TICKED}
        chosen.submission = form.text("submission") or None  # nothing published: the same form
        return await _render(request, viewer, data, actions={slot: chosen}, status_code=422, block=slot)
    if step == "review":
        chosen.mode = "review"
        chosen.message = RESENT_FORM if viewer.resent_form else None
        chosen.submission = new_token()
        return await _render(request, viewer, data, actions={slot: chosen}, block=slot)
    text = (
        Draft(body=draft.body, headline=draft.headline, preliminary=draft.preliminary)
        if action.new_text
        else None
    )

    translated = typed.for_service() if typed else updates.NO_TRANSLATIONS
    waits = approval.required_for(state.settings.approval_required, action.kind)
    # The emergency bypass: publish now, without approval, for the reason given.
    bypass = form.text("bypass_reason") if waits and form.flag("bypass_approval") else None
    try:
        reason = approval.bypass_reason(bypass) if bypass is not None else None
    except InvalidInput as exc:  # nothing published: the review again, as sent, saying why
        wrong = exc.fields.get("bypass_approval", exc.message)
        chosen.mode, chosen.errors, chosen.message = "review", exc.fields, bypass_refused(wrong)
        chosen.submission = form.text("submission") or None  # nothing published: the same form
        chosen.bypass_approval, chosen.bypass_reason = True, bypass or ""
        chosen.confirm_revert = form.flag("confirm_revert")
        return await _render(request, viewer, data, actions={slot: chosen}, status_code=422, block=slot)
    # The same change waits for approval or is published now.
    asked = ChangeRequest(
        corrects_version=chosen.corrects_version,
        reason=draft.reason or None,
        draft=text,
        translations=translated,
        alerting=alerting,
    )
    if waits and bypass is None:

        def submit(session: Session) -> idempotency.Answer:
            approval.submit_change(
                session, viewer.actor, data.update.id, action, routing=state.routing, **asked
            )
            if slot in ("correct", "retract"):  # waiting for approval now, not typed any more
                autosave.discard(session, viewer.actor, FormName.CORRECT, data.update.id)
            return _answer(request, "pending_approval", None)

        def wait(session: Session) -> idempotency.Answer:
            return once(submission, session, submit)

        return await _publish(request, viewer, wait, action=chosen, slot=slot, notice="pending_approval")

    def work(session: Session) -> Published | idempotency.Answer:
        # Sent twice at once: the first to be written published, the second answers with it.
        if submission is not None and (earlier := submission.recall(session)):
            return earlier
        published = updates.change_update(
            session,
            viewer.actor,
            data.update.id,
            action,
            routing=state.routing,
            **ChangeRequest(
                **asked, started_from=chosen.started_from, reverts_confirmed=bool(chosen.reverts)
            ),
        )
        if reason is not None:
            approval.record_bypass(session, viewer.actor, published, reason, routing=state.routing)
        if slot in ("correct", "retract"):  # the correction typed is out, or can never be
            autosave.discard(session, viewer.actor, FormName.CORRECT, data.update.id)
        if submission is not None:
            submission.remember(session, _answer(request, action.done, published.version.version))
        return published

    return await _publish(
        request,
        viewer,
        work,
        action=chosen,
        slot=slot,
        notice=action.done,
    )


def _apply_to_newer(form: Form, data: UpdateData, mine: ActionForm) -> tuple[ActionForm, int]:
    """ "Apply my changes to the newer version": the three-way merge of the version the PIO
    started from, their text and the current version. Clean: the merged text goes to review
    (still marked as started from the older version, so a side picked against a colleague is
    named as a revert there). Overlapping changes: shown side by side, each to be picked."""
    typed, said = mine.translations, mine.alerting
    started = data.version(mine.base)
    if started is None or mine.corrects_version <= 0:
        return ActionForm(
            mine.draft, data.current.version, message=NO_BASE, translations=typed, alerting=said
        ), 422
    if data.retracted:
        return ActionForm(
            mine.draft, data.current.version, message=RETRACTED, translations=typed, alerting=said
        ), 409
    current = data.current
    merged = merging.merge_draft(
        DraftText(started.headline or "", started.body, started.preliminary),
        mine.draft,
        DraftText(current.headline or "", current.body, current.preliminary),
    )
    numbers = {conflict.number for conflict in merged.conflicts}
    picks: dict[int, merging.Side] = {}
    for number in numbers:
        for side in merging.SIDES:
            if form.text(f"pick_{number}") == side:
                picks[number] = side
    resolved = merged.resolve(picks)
    if resolved is None:
        choosing = form.flag("choosing")
        return ActionForm(
            mine.draft,
            current.version,
            "merge",
            errors={"merge": PICK_EVERY_CHOICE} if choosing else {},
            translations=typed,
            started_from=mine.base,
            merge=merged,
            picks=picks,
            alerting=said,
        ), 422 if choosing else 200
    return ActionForm(
        resolved, current.version, translations=typed, started_from=mine.base, alerting=said
    ), 200


def change_endpoint(action: updates.Action) -> Endpoint:
    async def change(request: Request, viewer: Viewer) -> Response:
        return await change_view(request, viewer, action)

    change.__name__ = change.__qualname__ = action.name
    return access(Access.PUBLISHER, STAFF_REVIEWED)(change)


@access(Access.READER, STAFF_POLLING)
async def update_deliveries(request: Request, viewer: Viewer) -> Response:
    """Polled by the update screen: every delivery chip, swapped in place (htmx out-of-band)."""
    data = await _found(request, viewer)
    if isinstance(data, Response):
        return data
    extra = {"oob": is_htmx(request), "since": since_param(request)}
    return await _render(request, viewer, data, block="deliveries", extra=extra)


@access(Access.PUBLISHER, STAFF)
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
