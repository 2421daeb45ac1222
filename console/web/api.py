"""The JSON API under /api/v1: bearer tokens; admin and pio write, reviewer reads everything,
anonymous callers read public data only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain import approval, idempotency, outbox, records
from console.domain.actors import Actor
from console.domain.alerting import (
    NOTHING,
    Alerting,
    TranslatedAlerting,
    cap_defaults_view,
    check_alerting,
    check_translated,
)
from console.domain.details_versions import current_cap_defaults
from console.domain.errors import InvalidInput
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.incidents import get_incident as get_incident_row
from console.domain.templates import fill_template, publish_from_template
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import AddedTranslation, add_translation, translation_view
from console.domain.updates import (
    NO_TRANSLATIONS,
    Action,
    ChangeRequest,
    Draft,
    Published,
    Publishing,
    Translations,
    change_update,
    publish_update,
    version_view,
)
from console.models import IncidentStatus, PendingVersion, VersionKind
from console.settings import APPROVAL_KINDS
from console.web.access import Access, Endpoint, access
from console.web.audit_api import whole_number
from console.web.bearer import ANY_CALLER, TOKEN
from console.web.jsonio import Fields, read_no_body, read_object
from console.web.media_fields import media_drafts, translated_alt
from console.web.state import app_state
from console.web.update_actions import UPDATE_ACTIONS


def _published(result: Published) -> dict[str, Any]:
    template = result.version.template_version
    return {
        "id": result.update.id,
        "seq": result.update.seq,
        "incident": result.update.incident.slug,
        **version_view(result.version),
        "translations": [
            translation_view(translation, result.version.version, "current")
            for translation in result.translations
        ],
        "template": None if template is None else {"id": template.template_id, "version": template.version},
        "event_id": result.event.event_id,
    }


TRANSLATION_FIELDS = ["lang", "headline", "body", "instruction", "wea", "media_alt"]
ALERTING_FIELDS = ["cap", "instruction", "wea"]
UPDATES = "/api/v1/updates"
Result = TypeVar("Result")


def _translations(request: Request, fields: Fields) -> Translations:
    """The optional `translations: [{lang, headline?, body}]` of a new version."""
    languages = app_state(request).languages
    value = fields.data.get("translations")
    if value is None:
        return Translations((), languages)
    if not isinstance(value, list):
        fields.errors["translations"] = "must be an array of {lang, headline?, body} objects"
        return Translations((), languages)
    drafts = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            fields.errors[f"translations[{index}]"] = (
                "must be an object with lang, body and optionally headline"
            )
            continue
        one = Fields(item, TRANSLATION_FIELDS)
        lang, headline, body = (
            one.text("lang", required=True),
            one.text("headline"),
            one.text("body", required=True),
        )
        media_alt = translated_alt(one)
        fields.errors.update(
            {f"translations[{index}].{name}": problem for name, problem in one.errors.items()}
        )
        words = _translated_alerting(one, lang, f"translations[{index}].", fields.errors)
        if lang is not None and body is not None:
            drafts.append(
                TranslationDraft(lang=lang, body=body, headline=headline, alerting=words, media_alt=media_alt)
            )
    return Translations(drafts, languages)


def _object(fields: Fields, name: str, errors: dict[str, str], prefix: str = "") -> dict[str, Any] | None:
    value = fields.data.get(name)
    if value is None or isinstance(value, dict):
        return value
    errors[f"{prefix}{name}"] = "must be an object"
    return None


def _alerting(fields: Fields) -> Alerting:
    """The optional `cap`, `instruction` and `wea` of a new version (issue 17)."""
    cap, wea = _object(fields, "cap", fields.errors), _object(fields, "wea", fields.errors)
    return check_alerting(cap, fields.data.get("instruction"), wea, fields.errors)


def _translated_alerting(
    one: Fields, lang: str | None, prefix: str, errors: dict[str, str]
) -> TranslatedAlerting:
    """A translation's optional `instruction` and (Spanish only) `wea`."""
    wea = _object(one, "wea", errors, prefix)
    return check_translated(lang or "", one.data.get("instruction"), wea, errors, prefix)


def _created(body: dict[str, Any], location: str | None, status: int = 201) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Location": location} if location else {})


async def publish_once(
    request: Request,
    actor: Actor,
    payload: dict[str, Any],
    work: Callable[[Session], dict[str, Any]],
    location: Callable[[dict[str, Any]], str | None],
    status: int = 201,
) -> Response:
    """Run a publishing `work` and answer 201 (202: it waits for approval); with an
    `Idempotency-Key`, a request sent again with the same key gets the first answer back
    (`Idempotent-Replayed: true`) and publishes nothing more."""
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))
    state = app_state(request)
    if key is None:
        body = await state.write(work)
        return _created(body, location(body), status)
    assert actor.user_id is not None  # API actors come from a token, which has an account
    user_id = actor.user_id
    fingerprint = idempotency.fingerprint(request.method, request.url.path, payload)

    def once(session: Session) -> tuple[idempotency.Answer, bool]:
        earlier = idempotency.recall(session, user_id, key, fingerprint)
        if earlier is not None:
            return earlier, True
        body = work(session)
        answer = idempotency.Answer(status, body, location(body))
        idempotency.remember(session, user_id, key, fingerprint, answer)
        return answer, False

    answer, replayed = await state.write(once)
    headers = {"Location": answer.location} if answer.location else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


@access(Access.PUBLIC, ANY_CALLER)
async def list_incidents(request: Request, _caller: Actor | None) -> Response:
    status_param = request.query_params.get("status")
    try:
        status = IncidentStatus(status_param) if status_param is not None else None
    except ValueError:
        raise InvalidInput({"status": "must be active or resolved"}) from None
    limit = whole_number(request, "limit", records.INCIDENTS_PAGE_DEFAULT, 1, records.INCIDENTS_PAGE_MAX)
    assert limit is not None
    cursor = request.query_params.get("cursor")
    page = await app_state(request).read(
        lambda session: records.list_incidents(session, status=status, limit=limit, cursor=cursor)
    )
    return JSONResponse({"incidents": page.incidents, "next_cursor": page.next_cursor})


@access(Access.PUBLISHER, TOKEN)
async def create_incident_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(
        payload, ["title", "summary", "location", "category", "alert_status", "area", "cap_defaults"]
    )
    draft = IncidentDraft(
        title=fields.text("title", required=True) or "",
        summary=fields.text("summary"),
        location=fields.text("location"),
        category=fields.text("category"),
        alert_status=fields.text("alert_status"),
        area=fields.data.get("area"),  # checked by the domain (console.domain.area)
        cap_defaults=fields.data.get("cap_defaults"),  # checked by the domain (console.domain.alerting)
    )
    fields.check()
    state = app_state(request)

    def work(session: Session) -> dict[str, Any]:
        incident, _ = create_incident(session, actor, draft, routing=state.routing)
        defaults = cap_defaults_view(current_cap_defaults(session, incident.id))
        return {**records.incident_view(incident, last_update_at=None), "cap_defaults": defaults}

    return await publish_once(request, actor, payload, work, lambda body: f"/api/v1/incidents/{body['slug']}")


@access(Access.PUBLIC, ANY_CALLER)
async def get_incident(request: Request, actor: Actor | None) -> Response:
    slug = request.path_params["slug"]
    internal = actor is not None and actor.can_read_internal
    body = await app_state(request).read(
        lambda session: records.incident_record(
            session, slug, internal=internal, languages=app_state(request).languages
        )
    )
    return JSONResponse(body)


def _draft(fields: Fields) -> Draft:
    """An update's text fields, as publishing and correcting read them."""
    return Draft(
        body=fields.text("body", required=True) or "",
        headline=fields.text("headline"),
        preliminary=fields.flag("preliminary"),
        media=media_drafts(fields),
    )


def _publishing(request: Request, fields: Fields) -> Publishing:
    """Where the new version's events go, and the translations and alerting fields sent with it."""
    return Publishing(
        routing=app_state(request).routing,
        translations=_translations(request, fields),
        alerting=_alerting(fields),
    )


def approval_needed(request: Request, fields: Fields, kind: VersionKind | str) -> str | Waits | None:
    """The approval a new version of `kind` needs: "wait" when it waits for a second person
    (APPROVAL_REQUIRED), the author's reason when they publish without (`bypass_approval`), None
    when none is needed (a `bypass_approval` is then ignored: there is nothing to bypass; but it
    is still checked, so a bad one is a 422 whatever the setting)."""
    reason = fields.text("bypass_approval")
    checked: str | None = None
    if reason is not None:
        try:
            checked = approval.bypass_reason(reason)
        except InvalidInput as exc:
            fields.errors.update(exc.fields)
            return None
    if not approval.required_for(app_state(request).settings.approval_required, kind):
        return None
    return WAIT if checked is None else checked


class Waits:
    """The version waits for a second person's approval."""


WAIT = Waits()


def _bypassed(
    request: Request, actor: Actor, reason: str | None, work: Callable[[Session], Published]
) -> Callable[[Session], Published]:
    """`work`, and the bypass recorded in its transaction when `reason` is given."""
    if reason is None:
        return work

    def bypassing(session: Session) -> Published:
        published = work(session)
        approval.record_bypass(session, actor, published, reason, routing=app_state(request).routing)
        return published

    return bypassing


async def answer_waiting(
    request: Request, actor: Actor, payload: dict[str, Any], work: Callable[[Session], PendingVersion]
) -> Response:
    """202: the version waits for approval; its `id` is the pending version's, for `/approval`."""
    return await publish_once(
        request, actor, payload, lambda session: approval.pending_view(work(session)), lambda body: None, 202
    )


async def publish_answered(
    request: Request,
    actor: Actor,
    payload: dict[str, Any],
    work: Callable[[Session], Result],
    answer: Callable[[Result], dict[str, Any]],
    collection: str,
) -> Response:
    """`publish_once` for work whose answer has an `id`: it is at `collection`/id."""

    def location(body: dict[str, Any]) -> str:
        return f"{collection}/{body['id']}"

    return await publish_once(request, actor, payload, lambda session: answer(work(session)), location)


@access(Access.PUBLISHER, TOKEN)
async def publish_update_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(
        payload,
        [
            "headline",
            "body",
            "preliminary",
            "media",
            "translations",
            "template",
            "placeholders",
            "bypass_approval",
            *ALERTING_FIELDS,
        ],
    )
    slug = request.path_params["slug"]
    needs = approval_needed(request, fields, VersionKind.ORIGINAL)
    if fields.data.get("template") is not None:
        return await _publish_from_template(request, actor, payload, fields, slug, needs)
    if fields.data.get("placeholders") is not None:
        fields.errors["placeholders"] = "is given only with `template`"
    draft = _draft(fields)
    publishing = _publishing(request, fields)
    fields.check()
    if isinstance(needs, Waits):
        translations = publishing.get("translations", NO_TRANSLATIONS)
        alerting = publishing.get("alerting", NOTHING)
        return await answer_waiting(
            request,
            actor,
            payload,
            lambda session: approval.submit_original(
                session,
                actor,
                slug,
                draft,
                translations=translations,
                alerting=alerting,
                routing=app_state(request).routing,
            ),
        )

    def work(session: Session) -> Published:
        return publish_update(session, actor, slug, draft, **publishing)

    return await publish_answered(
        request, actor, payload, _bypassed(request, actor, needs, work), _published, UPDATES
    )


async def _publish_from_template(
    request: Request,
    actor: Actor,
    payload: dict[str, Any],
    fields: Fields,
    slug: str,
    needs: str | Waits | None,
) -> Response:
    """`template` + `placeholders` (issue 18): the text, headline and translations are the
    template's, so none of them may be sent too."""
    template_id = fields.integer("template")
    for name in ("headline", "body", "translations", "media"):
        if fields.data.get(name) is not None:
            fields.errors[name] = "is written by the template: send either `template` or the text"
    given = fields.data.get("placeholders")
    if given is None:
        given = {}
    elif not isinstance(given, dict) or not all(isinstance(value, str) for value in given.values()):
        fields.errors["placeholders"] = "must be an object of {placeholder name: text}"
        given = {}
    preliminary = fields.flag("preliminary")
    alerting = _alerting(fields)
    fields.check()
    assert template_id is not None
    state = app_state(request)
    if isinstance(needs, Waits):

        def wait(session: Session) -> PendingVersion:
            # The template's text waits like typed text, naming the template version it came from.
            incident = get_incident_row(session, slug)
            filled = fill_template(
                session, actor, template_id, given, incident=incident, zone=state.settings.zone
            )
            draft = Draft(body=filled.body, headline=filled.headline, preliminary=preliminary)
            in_force, drafts = filled.sent_with(alerting)
            translations = Translations(drafts, state.languages)
            return approval.submit_original(
                session,
                actor,
                slug,
                draft,
                translations=translations,
                alerting=in_force,
                template_version_id=filled.version.id,
                routing=state.routing,
            )

        return await answer_waiting(request, actor, payload, wait)

    def work(session: Session) -> Published:
        return publish_from_template(
            session,
            actor,
            slug,
            template_id,
            given,
            preliminary=preliminary,
            languages=state.languages,
            zone=state.settings.zone,
            routing=state.routing,
            alerting=alerting,
        )

    return await publish_answered(
        request, actor, payload, _bypassed(request, actor, needs, work), _published, UPDATES
    )


@access(Access.PUBLIC, ANY_CALLER)
async def get_update(request: Request, actor: Actor | None) -> Response:
    internal = actor is not None and actor.can_read_internal
    update_id = request.path_params["update_id"]
    body = await app_state(request).read(
        lambda session: records.update_record(
            session, update_id, internal=internal, languages=app_state(request).languages
        )
    )
    return JSONResponse(body)


def update_action_endpoint(action: Action) -> Endpoint:
    """`POST /updates/{update_id}/<path>` for one action: the same shape for all three."""
    text_fields = ["headline", "body", "preliminary", "media"] if action.new_text else []
    # A retraction keeps its version's alerting fields: it withdraws them, it does not change them.
    alerting_fields = ALERTING_FIELDS if action.kind is not VersionKind.RETRACTION else []
    # Only the kinds APPROVAL_REQUIRED can name may bypass it (a confirmation never waits).
    may_wait = action.kind.value in APPROVAL_KINDS
    approval_fields = ["bypass_approval"] if may_wait else []

    async def change(request: Request, actor: Actor) -> Response:
        payload = await read_object(request)
        fields = Fields(
            payload,
            [*text_fields, "reason", "corrects_version", "translations", *approval_fields, *alerting_fields],
        )
        draft = _draft(fields) if action.new_text else None
        reason = fields.text("reason", required=action.reason_required)
        corrects = fields.integer("corrects_version", required=True)
        publishing = _publishing(request, fields)
        needs = approval_needed(request, fields, action.kind) if may_wait else None
        fields.check()
        update_id = request.path_params["update_id"]
        # The same change waits for approval or is published now.
        asked = ChangeRequest(
            corrects_version=corrects,
            reason=reason,
            draft=draft,
            translations=publishing.get("translations", NO_TRANSLATIONS),
            alerting=publishing.get("alerting", NOTHING),
        )
        routing = publishing["routing"]
        if isinstance(needs, Waits):
            return await answer_waiting(
                request,
                actor,
                payload,
                lambda session: approval.submit_change(
                    session, actor, update_id, action, routing=routing, **asked
                ),
            )

        def work(session: Session) -> Published:
            return change_update(session, actor, update_id, action, routing=routing, **asked)

        return await publish_answered(
            request, actor, payload, _bypassed(request, actor, needs, work), _published, UPDATES
        )

    change.__name__ = change.__qualname__ = f"{action.name}_endpoint"
    return access(Access.PUBLISHER, TOKEN)(change)


@access(Access.PUBLISHER, TOKEN)
async def approval_endpoint(request: Request, actor: Actor) -> Response:
    """Approve (publish) or return a pending version; never its author's own."""
    payload = await read_object(request)
    fields = Fields(payload, ["version", "decision", "comment"])
    version = fields.integer("version", required=True)
    decision = fields.text("decision", required=True)
    comment = fields.text("comment")
    fields.check()
    assert version is not None and decision is not None
    state = app_state(request)
    pending_id = request.path_params["pending_id"]

    def work(session: Session) -> dict[str, Any]:
        decided = approval.decide(
            session,
            actor,
            pending_id,
            version=version,
            decision=decision,
            comment=comment,
            languages=state.languages,
            routing=state.routing,
        )
        published = None if decided.published is None else _published(decided.published)
        return {**approval.pending_view(decided.pending), "published": published}

    return JSONResponse(await state.write(work))


def _added(result: AddedTranslation) -> dict[str, Any]:
    translation = result.translation
    return {
        "update_id": translation.update_id,
        **translation_view(translation, result.event.version, "current"),
        "event_id": result.event.event_id,
    }


@access(Access.PUBLISHER, TOKEN)
async def add_translation_endpoint(request: Request, actor: Actor) -> Response:
    payload = await read_object(request)
    fields = Fields(payload, [*TRANSLATION_FIELDS, "version"])
    lang = fields.text("lang", required=True)
    draft = TranslationDraft(
        lang=lang or "",
        body=fields.text("body", required=True) or "",
        headline=fields.text("headline"),
        alerting=_translated_alerting(fields, lang, "", fields.errors),
        media_alt=translated_alt(fields),
    )
    version = fields.integer("version", required=True)
    fields.check()
    assert version is not None
    state = app_state(request)
    update_id = request.path_params["update_id"]
    return await publish_once(
        request,
        actor,
        payload,
        lambda session: _added(
            add_translation(
                session,
                actor,
                update_id,
                draft,
                version=version,
                languages=state.languages,
                routing=state.routing,
            )
        ),
        lambda body: f"/api/v1/updates/{update_id}",
    )


@access(Access.PUBLISHER, TOKEN)
async def retry_delivery_endpoint(request: Request, actor: Actor) -> Response:
    await read_no_body(request)
    delivery_id = request.path_params["delivery_id"]

    def work(session: Session) -> dict[str, Any]:
        delivery = outbox.retry(session, actor, delivery_id)
        return {"id": delivery.id, "channel": delivery.channel, "state": delivery.state.value}

    return JSONResponse(await app_state(request).write(work))


def routes() -> list[BaseRoute]:
    return [
        Route("/incidents", list_incidents, methods=["GET"]),
        Route("/incidents", create_incident_endpoint, methods=["POST"]),
        Route("/incidents/{slug}", get_incident, methods=["GET"]),
        Route("/incidents/{slug}/updates", publish_update_endpoint, methods=["POST"]),
        Route("/updates/{update_id:int}", get_update, methods=["GET"]),
        *(
            Route(f"/updates/{{update_id:int}}/{path}", update_action_endpoint(action), methods=["POST"])
            for path, action in UPDATE_ACTIONS.items()
        ),
        Route("/updates/{update_id:int}/translations", add_translation_endpoint, methods=["POST"]),
        Route("/updates/{pending_id:int}/approval", approval_endpoint, methods=["POST"]),
        Route("/deliveries/{delivery_id:int}/retry", retry_delivery_endpoint, methods=["POST"]),
    ]
