"""The incident screen's "Correct details" form, which publishes a new details version (issue
13.5), and its forms per language, which translate the current one (issue 13.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from console.domain.alerting import cap_defaults_view
from console.domain.area import parse_typed_area
from console.domain.details_translations import TRANSLATED_FIELDS, DetailsTranslationDraft, translate_details
from console.domain.errors import InvalidInput, NotFound, VersionConflict
from console.domain.incident_details import DetailsDraft, change_details, rebase, rebase_cap_defaults
from console.web.access import Access, access
from console.web.staff.alerting_form import TypedAlerting, defaults_form_errors
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import read_form
from console.web.staff.incidents import INCIDENT_FIELDS, DetailsForm, incident_screen
from console.web.staff.rendering import error_page, see_other
from console.web.state import app_state


@access(Access.PUBLISHER, STAFF)
async def change_details_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    typed = {name: form.text(name) for name in (*INCIDENT_FIELDS, "area_description", "area", "reason")}
    corrects = form.integer("corrects_version") or 0
    # The area as typed (GeoJSON or "lat,lon ..." lines); blank removes it, as {} does in the API.
    area_errors: dict[str, str] = {}
    area = parse_typed_area(typed["area"], typed["area_description"], area_errors)
    # The CAP defaults as chosen; none chosen removes them, as {} does in the API.
    typed_defaults = TypedAlerting.read(form)
    defaults, defaults_errors = typed_defaults.check_defaults()
    draft = DetailsDraft(
        **{name: typed[name] for name in INCIDENT_FIELDS},
        area=area or {},
        cap_defaults=cap_defaults_view(defaults) or {},
    )

    async def refused(
        status_code: int, errors: dict[str, str], message: str | None, version: int
    ) -> Response:
        details_form = DetailsForm(typed, version, errors, message, open=True, defaults=typed_defaults)
        return await incident_screen(
            request, viewer, status_code=status_code, block="details", extra={"details_form": details_form}
        )

    if area_errors or defaults_errors:
        return await refused(422, area_errors | defaults_errors, None, corrects)
    try:
        await state.write(
            lambda session: change_details(
                session,
                viewer.actor,
                slug,
                draft,
                reason=typed["reason"],
                corrects_version=corrects,
                routing=state.routing,
            )
        )
    except InvalidInput as exc:
        return await refused(422, defaults_form_errors(exc.fields), None, corrects)
    except VersionConflict as exc:
        current = exc.current
        started_from = corrects
        typed = await state.read(lambda session: rebase(session, slug, typed, started_from))
        rebased = await state.read(lambda session: rebase_cap_defaults(session, slug, defaults, started_from))
        typed_defaults = TypedAlerting.of(rebased, state.settings.zone)
        why = f" (reason: {current['reason']})" if current["reason"] else ""  # version 1 gives none
        message = (
            f"{current['author']} published details version {current['version']} since this form was "
            f"opened{why}. The form now holds that version with your own changes on top: check it, "
            "and send again if your change is still needed."
        )
        return await refused(409, {}, message, int(current["version"]))
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    return see_other(request, f"/console/incidents/{slug}?notice=details_changed")


@dataclass(frozen=True)
class TypedDetailsTranslation:
    """A refused "Details in …" form: what was typed, and why it was refused."""

    typed: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None


@access(Access.PUBLISHER, STAFF)
async def translate_details_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    lang = form.text("lang")
    typed = {name: form.text(name) for name in TRANSLATED_FIELDS}
    version = form.integer("version") or 0
    draft = DetailsTranslationDraft(lang=lang, **typed)

    async def refused(status_code: int, errors: dict[str, str], message: str | None) -> Response:
        forms = {lang: TypedDetailsTranslation(typed, errors, message)}
        return await incident_screen(
            request,
            viewer,
            status_code=status_code,
            block="details",
            extra={"details_translation_forms": forms},
        )

    try:
        await state.write(
            lambda session: translate_details(
                session,
                viewer.actor,
                slug,
                draft,
                version=version,
                languages=state.languages,
                routing=state.routing,
            )
        )
    except InvalidInput as exc:
        # The fields show their own errors; the language and version have no field to show them.
        others = [f"{name}: {text}" for name, text in exc.fields.items() if name not in TRANSLATED_FIELDS]
        return await refused(422, exc.fields, "; ".join(others) or None)
    except VersionConflict as exc:
        current = exc.current
        message = (
            f"{current['author']} published details version {current['version']} since this form was "
            "opened: the form now translates that version. Check your text against it and send again."
        )
        return await refused(409, {}, message)
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    return see_other(request, f"/console/incidents/{slug}?notice=details_translated")
