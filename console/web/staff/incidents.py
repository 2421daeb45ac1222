"""The dashboard and an incident's screen: create, compose with previews, publish (resolving,
reopening and correcting details have their own modules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from console.domain import (
    approval,
    autosave,
    channel_health,
    delivery_status,
    idempotency,
    overview,
    previews,
    subscriptions,
    templates,
    timeline,
    versions,
)
from console.domain.alerting import NOTHING, Alerting, stored_cap_defaults
from console.domain.area import stored_area, typed_form
from console.domain.autosave import FormName, Saved
from console.domain.delivery_status import EventDeliveries
from console.domain.details_translations import translations_views
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.domain.incident_details import current_details_version
from console.domain.incidents import (
    CATEGORIES,
    IncidentDraft,
    create_incident,
    get_incident,
)
from console.domain.media import MediaDraft
from console.domain.pins import current_pin
from console.domain.previews import ChannelPreview, DraftText
from console.domain.resolution import ALL_CLEAR_PREFILL
from console.domain.timeline import UpdateCard
from console.domain.translations import TranslationGap
from console.domain.updates import Draft, publish_update
from console.languages import Languages
from console.models import AlertStatus, Incident, IncidentStatus, TemplateVersion, UpdateVersion, VersionKind
from console.web.access import Access, access
from console.web.staff import approvals, translations
from console.web.staff.alerting_form import NOT_TYPED, TypedAlerting, saved_alerting
from console.web.staff.area_map import map_page_headers
from console.web.staff.auth import RESENT_FORM, STAFF, STAFF_POLLING, STAFF_REVIEWED, Viewer
from console.web.staff.forms import read_form
from console.web.staff.media_upload import ComposeImage, alt_errors, compose_images
from console.web.staff.rendering import error_page, is_htmx, render, see_other
from console.web.staff.submission import Submission, new_token, once
from console.web.staff.template_use import TemplateUse, unfilled, unfilled_errors
from console.web.staff.translations import TypedTranslations
from console.web.state import app_state

DASHBOARD = "console/dashboard.html"
INCIDENT = "console/incident.html"
INCIDENT_FIELDS = ("title", "summary", "location", "category", "alert_status")
NEW_INCIDENT = {"category": "Other", "alert_status": "actual"}


# The dashboard


async def _dashboard(
    request: Request,
    viewer: Viewer,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    state = app_state(request)
    enabled = state.enabled_channels()
    rows, channels, untranslated, subscribers, autosaved, approval_board = await state.read(
        lambda session: (
            overview.incident_rows(session),
            channel_health.channel_report(session, enabled),
            translations.gaps(session, state.languages),
            sorted(subscriptions.subscriber_counts(session).items()),
            autosave.of_author(session, viewer.actor) if block is None else [],
            approvals.board(session, viewer.actor, state.clock()),
        )
    )
    context = {
        "rows": rows,
        "approvals": approval_board,
        "autosaved": autosaved,
        "channels": channels,
        "untranslated": untranslated,
        "subscribers": subscribers,  # ((channel, lang), count): counts only, never addresses
        "typed": typed or NEW_INCIDENT,
        "errors": errors or {},
        "categories": CATEGORIES,
        "alert_statuses": [status.value for status in AlertStatus],
    }
    return render(request, DASHBOARD, context, viewer=viewer, status_code=status_code, block=block)


@access(Access.READER, STAFF)
async def dashboard(request: Request, viewer: Viewer) -> Response:
    return await _dashboard(request, viewer)


@access(Access.READER, STAFF_POLLING)
async def incident_list(request: Request, viewer: Viewer) -> Response:
    """The dashboard's list alone: the page polls it, so failures show up without a reload."""
    return await _dashboard(request, viewer, block="incident_list")


@access(Access.PUBLISHER, STAFF)
async def create_incident_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    typed = {name: form.text(name) for name in INCIDENT_FIELDS}
    draft = IncidentDraft(**typed)
    try:
        slug = await state.write(
            lambda session: create_incident(session, viewer.actor, draft, routing=state.routing)[0].slug
        )
    except InvalidInput as exc:
        return await _dashboard(
            request, viewer, typed=typed, errors=exc.fields, status_code=422, block="create_incident"
        )
    return see_other(request, f"/console/incidents/{slug}?notice=incident_created")


# One incident


@dataclass
class IncidentData:
    incident: Incident
    cards: list[UpdateCard]
    current: dict[int, UpdateVersion]
    events: list[EventDeliveries]
    latest_event_id: int
    untranslated: list[TranslationGap] = field(default_factory=list)
    details_version: int = 1  # the current version of the incident's details
    cap_defaults: Alerting = NOTHING  # that version's CAP defaults for new updates (issue 17)
    pinned_update_id: int | None = None  # the update shown first as "What to do now"
    # Per language, the newest translation of the details (`details_translations` of the API).
    details_translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (update id, version) → the reason it was published without approval (issue 18).
    bypassed: dict[tuple[int, int], str] = field(default_factory=dict)
    # Its pending and returned versions (issue 18), newest first: each {id, kind, version,
    # author, body, state, decided_by, comment}.
    approvals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def next_seq(self) -> int:
        return max((card.seq for card in self.cards), default=0) + 1

    @property
    def active(self) -> bool:
        return self.incident.status is IncidentStatus.ACTIVE

    def events_of(self, update_id: int | None) -> list[EventDeliveries]:
        return [event for event in self.events if event.update_id == update_id]


def load_incident(
    session: Session, slug: str, channel_order: tuple[str, ...], languages: Languages | None = None
) -> IncidentData:
    incident = get_incident(session, slug)
    details = current_details_version(session, incident)
    return IncidentData(
        incident=incident,
        cards=timeline.incident_cards(session, incident),
        current=versions.current_versions(session, incident.id),
        events=delivery_status.for_incident(session, incident.id, channel_order=channel_order),
        latest_event_id=delivery_status.latest_event_id(session, incident.id),
        untranslated=translations.gaps(session, languages, incident.id) if languages else [],
        details_version=details.version,
        cap_defaults=stored_cap_defaults(details.cap_defaults),
        pinned_update_id=pinned.update_id if (pinned := current_pin(session, incident.id)) else None,
        details_translations=translations_views(session, [incident])[incident.id],
        bypassed={
            (bypass.update_id, bypass.version): bypass.reason
            for bypass in approval.bypasses(session, incident_id=incident.id, limit=None)
        },
        approvals=[
            {
                "id": pending.id,
                "kind": pending.kind,
                "version": approval.number_of(pending),
                "author": pending.author_name,
                "body": pending.body,
                "state": pending.state,
                "decided_by": pending.decided_by,
                "comment": pending.comment,
            }
            for pending in approval.of_incident(session, incident.id)
        ],
    )


@dataclass
class Compose:
    """The compose form's state: editing, or checking before publishing."""

    draft: DraftText = field(default_factory=DraftText)
    mode: str = "edit"  # "edit" or "review"
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    translations: TypedTranslations | None = None
    # Set on the review step: publishing the same reviewed form twice (a double click, a
    # resent form after a lost answer) publishes once.
    submission: str | None = None
    restored: Saved | None = None  # what the PIO typed earlier, saved as they typed
    template: TemplateUse | None = None  # the template it started from (issue 18)
    alerting: TypedAlerting = NOT_TYPED  # "Alert details" (issue 17)
    alerting_checked: Alerting = NOTHING  # on the review step: what will go out
    images: list[ComposeImage] = field(default_factory=list)  # attached, with alt text (issue 18)

    @property
    def unfilled(self) -> list[str]:
        """The template's placeholders still to fill in: one field each."""
        return unfilled(self.draft, self.translations) if self.template else []

    @classmethod
    def from_saved(cls, saved: Saved, languages: Languages) -> Compose:
        typed = saved.typed
        translations = TypedTranslations.kept(
            typed.translations, languages, alerting=typed.translated_alerting
        )
        alerting = saved_alerting(saved) or NOT_TYPED
        return cls(typed.text, translations=translations, restored=saved, alerting=alerting)

    @classmethod
    def from_template(cls, started: templates.Filled, languages: Languages, zone: ZoneInfo) -> Compose:
        """The form filled from a template: its text, its translations, and its CAP defaults and
        instruction in "Alert details" (the form has no translated instruction: those stay
        with the API)."""
        texts = {draft.lang: (draft.headline or "", draft.body) for draft in started.translations}
        draft = DraftText(headline=started.headline or "", body=started.body)
        translations = TypedTranslations.kept(texts, languages)
        alerting = NOT_TYPED if started.alerting.empty else TypedAlerting.of(started.alerting, zone)
        return cls(
            draft, translations=translations, template=TemplateUse(started.version.id), alerting=alerting
        )


@dataclass(frozen=True)
class TemplateChoice:
    """The compose form's templates: those to start from, the one picked just now (`?template=`,
    started with its automatic placeholders filled) and the one the form's text came from."""

    offered: list[tuple[int, str]]
    started: templates.Filled | None = None
    used: TemplateVersion | None = None
    problem: str | None = None  # why the one picked cannot be used

    @classmethod
    def load(
        cls,
        session: Session,
        incident: Incident,
        picked: int | None,
        compose: Compose | None,
        zone: ZoneInfo,
        now: datetime,
    ) -> TemplateChoice:
        offered = [(template.id, version.name) for template, version in templates.current_templates(session)]
        if picked is not None:
            try:
                started = templates.started(session, picked, incident=incident, zone=zone, now=now)
            except InvalidInput as exc:
                return cls(offered, problem="; ".join(exc.fields.values()))
            except NotFound as exc:
                return cls(offered, problem=exc.message)
            return cls(offered, started, started.version)
        used = (
            session.get(TemplateVersion, compose.template.version_id)
            if compose and compose.template
            else None
        )
        return cls(offered, used=used)


def _template_param(request: Request) -> int | None:
    value = request.query_params.get("template", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


@dataclass
class DetailsForm:
    """The "Correct details" form: the current details, or what was typed and why it was refused."""

    typed: dict[str, str]
    current_version: int
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None
    open: bool = False
    defaults: TypedAlerting = NOT_TYPED  # the CAP defaults' fields, as typed

    @classmethod
    def current(cls, data: IncidentData, zone: ZoneInfo) -> DetailsForm:
        incident = data.incident
        typed = {name: str(getattr(incident, name)) for name in INCIDENT_FIELDS} | {"reason": ""}
        typed["area_description"], typed["area"] = typed_form(stored_area(incident.area))
        return cls(typed, data.details_version, defaults=TypedAlerting.of(data.cap_defaults, zone))


@dataclass
class Resolution:
    """The resolve form: the all-clear as typed (it starts as "All clear: ")."""

    message: str = ALL_CLEAR_PREFILL
    errors: dict[str, str] = field(default_factory=dict)
    translations: dict[str, str] = field(default_factory=dict)  # language → the all-clear in it


@dataclass
class Reopening:
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None


async def incident_screen(
    request: Request,
    viewer: Viewer,
    *,
    compose: Compose | None = None,
    resolve_step: bool = False,
    status_code: int = 200,
    block: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    state = app_state(request)
    slug = request.path_params["slug"]
    restoring = compose is None and block is None  # the page as it opens: with what was typed

    picked = _template_param(request) if restoring else None

    def load(session: Session) -> tuple[IncidentData, Saved | None, TemplateChoice]:
        data = load_incident(session, slug, state.settings.channels, state.languages)
        saved = (
            autosave.restore(session, viewer.actor, FormName.COMPOSE, data.incident.id) if restoring else None
        )
        # Only where the compose form is drawn: not for the polls and fragments of the page.
        choice = (
            TemplateChoice.load(session, data.incident, picked, compose, state.settings.zone, state.clock())
            if viewer.actor.can_publish and block in (None, "compose")
            else TemplateChoice([])
        )
        return data, saved, choice

    try:
        data, saved, choice = await state.read(load)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    if choice.started is not None:  # picked just now: over what was typed before
        compose = Compose.from_template(choice.started, state.languages, state.settings.zone)
    elif saved is not None:
        compose = Compose.from_saved(saved, state.languages)
    compose = compose or Compose()
    if compose.translations is None:
        compose.translations = TypedTranslations(state.languages)
    preview: ChannelPreview | None = None
    draft = compose.draft
    if draft.body.strip() and not {"headline", "body"} & set(compose.errors):
        # Measuring a post can take seconds for long CJK text: not on the event loop.
        preview = await run_in_threadpool(
            lambda: previews.preview(
                draft,
                kind=VersionKind.ORIGINAL,
                incident_slug=data.incident.slug,
                alert_status=data.incident.alert_status,
                public_url=state.settings.public_url,
                seq=data.next_seq,
                now=state.clock(),
                author_name=viewer.display_name,
                post_rules=state.post_rules(),
                incident_title=data.incident.title,
                alerting=compose.alerting.check(state.settings.zone)[0],
            )
        )
    context = {
        "data": data,
        "incident": data.incident,
        "compose": compose,
        "preview": preview,
        "resolve_step": resolve_step,
        "languages": state.languages,
        "since": data.latest_event_id,
        "oob": False,
        "details_form": DetailsForm.current(data, state.settings.zone),
        "resolution": Resolution(),
        "reopening": Reopening(),
        "categories": CATEGORIES,
        "alert_statuses": [status.value for status in AlertStatus],
        "template_choice": choice,
        "approval_needed": approval.required_for(state.settings.approval_required, VersionKind.ORIGINAL),
        **(extra or {}),
    }
    headers = map_page_headers(state.settings, viewer.can_publish)
    return render(
        request, INCIDENT, context, viewer=viewer, status_code=status_code, block=block, headers=headers
    )


@access(Access.READER, STAFF)
async def incident_page(request: Request, viewer: Viewer) -> Response:
    return await incident_screen(request, viewer)


@access(Access.PUBLISHER, STAFF_REVIEWED)
async def compose_preview(request: Request, viewer: Viewer) -> Response:
    """What the typed draft would look like on each channel (htmx calls this while the PIO types)."""
    form = await read_form(request)
    draft = DraftText(
        headline=form.text("headline"), body=form.text("body"), preliminary=form.flag("preliminary")
    )
    compose = Compose(
        draft=draft,
        errors=previews.check(draft, reason_required=False) if draft.body else {},
        alerting=TypedAlerting.read(form),
    )
    return await incident_screen(request, viewer, compose=compose, block="preview")


@access(Access.PUBLISHER, STAFF_REVIEWED)
async def publish(request: Request, viewer: Viewer) -> Response:
    """Two steps: `step=review` shows exactly what will go out; `step=publish` publishes it
    (a form from before signing in again goes back to review: `Viewer.resent_form`)."""
    state = app_state(request)
    form = await read_form(request)
    draft = DraftText(
        headline=form.text("headline"), body=form.text("body"), preliminary=form.flag("preliminary")
    )
    typed = TypedTranslations.read(form, state.languages)
    alerting_typed = TypedAlerting.read(form)
    alerting, alerting_errors = alerting_typed.check(state.settings.zone)
    images = compose_images(form)
    use = TemplateUse.read(form)
    if use is not None:
        draft, typed = use.fill(draft, typed)
    alerting_errors.update(typed.alerting_errors())  # each translation's instruction and WEA texts
    step = "review" if viewer.resent_form and form.text("step") == "publish" else form.text("step")
    slug = request.path_params["slug"]

    async def edit_again(errors: dict[str, str], message: str | None = None, status: int = 422) -> Response:
        """The form back as typed, with what to fix."""
        compose = Compose(
            draft,
            "edit",
            errors,
            message,
            translations=typed,
            template=use,
            alerting=alerting_typed,
            images=images,
        )
        return await incident_screen(request, viewer, compose=compose, status_code=status, block="compose")

    if step in ("review", "publish") and use is not None and (pending := unfilled(draft, typed)):
        return await edit_again(unfilled_errors(pending))
    if step == "review":
        errors = {
            **previews.check(draft, reason_required=False),
            **typed.check(),
            **alerting_errors,
            **alt_errors(images),
        }
        message = RESENT_FORM if viewer.resent_form else None
        if errors:
            return await edit_again(errors, message)
        compose = Compose(
            draft,
            "review",
            message=message,
            translations=typed,
            submission=new_token(),
            template=use,
            alerting=alerting_typed,
            alerting_checked=alerting,
            images=images,
        )
        return await incident_screen(request, viewer, compose=compose, block="compose")
    if step != "publish" or alerting_errors:
        return await edit_again(alerting_errors, status=422 if step == "publish" else 200)
    media = tuple(MediaDraft(image.id, image.alt) for image in images) or None
    text = Draft(body=draft.body, headline=draft.headline, preliminary=draft.preliminary, media=media)
    waits = approval.required_for(state.settings.approval_required, VersionKind.ORIGINAL)
    # The emergency bypass: publish now, without approval, for the reason given.
    bypass = form.text("bypass_reason") if waits and form.flag("bypass_approval") else None
    said = {lang: typed.typed_alerting(lang) for lang in typed.carrying_alerting}
    submission = Submission.of(
        request,
        viewer,
        form,
        {
            "headline": draft.headline,
            "body": draft.body,
            "preliminary": draft.preliminary,
            "translations": typed.values,
            "alerting": alerting_typed.fingerprint(),
            "media": [[image.id, image.alt] for image in images],
            # only when given, as the version's hash: a form from before these fields keeps its key
            **({"translations_alerting": said} if any(said.values()) else {}),
        },
    )

    template_version_id = use.version_id if use is not None else None

    def publish(session: Session) -> int | None:
        if waits and bypass is None:
            pending = approval.submit_original(
                session,
                viewer.actor,
                slug,
                text,
                translations=typed.for_service(),
                alerting=alerting,
                template_version_id=template_version_id,
                routing=state.routing,
            )
            autosave.discard(session, viewer.actor, FormName.COMPOSE, pending.incident_id)
            return None
        reason = approval.bypass_reason(bypass) if bypass is not None else None
        published = publish_update(
            session,
            viewer.actor,
            slug,
            text,
            routing=state.routing,
            translations=typed.for_service(),
            template_version_id=template_version_id,
            alerting=alerting,
        )
        if reason is not None:
            approval.record_bypass(session, viewer.actor, published, reason, routing=state.routing)
        autosave.discard(session, viewer.actor, FormName.COMPOSE, published.update.incident_id)
        return published.update.seq

    def work(session: Session) -> int | None:
        """The published update's seq; None when it waits for approval."""
        answer = once(submission, session, lambda s: idempotency.Answer(303, {"seq": publish(s)}, None))
        return None if answer.body["seq"] is None else int(answer.body["seq"])

    try:
        seq = await state.write(work)
    except InvalidInput as exc:
        message = exc.fields.get("bypass_approval")
        message = f"Publishing without approval needs a reason: {message}" if message else None
        return await edit_again({**exc.fields, **typed.form_errors(exc.fields)}, message)
    except (NotAllowed, idempotency.KeyReused) as exc:
        return await edit_again({}, exc.message, 409)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    if seq is None:
        return see_other(request, f"/console/incidents/{slug}?notice=pending_approval")
    return see_other(request, f"/console/incidents/{slug}?notice=published#update-{seq}")


def since_param(request: Request) -> int:
    value = request.query_params.get("since", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else 0


@access(Access.READER, STAFF_POLLING)
async def incident_deliveries(request: Request, viewer: Viewer) -> Response:
    """Polled by the incident screen: every delivery chip, swapped in place (htmx out-of-band)."""
    return await incident_screen(
        request, viewer, block="deliveries", extra={"oob": is_htmx(request), "since": since_param(request)}
    )
