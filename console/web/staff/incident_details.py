"""The incident screen's "Correct details" form: publishes a new details version (issue 13.5)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.domain.errors import InvalidInput, NotFound, VersionConflict
from console.domain.incident_details import DetailsDraft, change_details, rebase
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import read_form
from console.web.staff.incidents import INCIDENT_FIELDS, DetailsForm, error_page, incident_screen
from console.web.staff.rendering import see_other
from console.web.state import app_state


@access(Access.PUBLISHER, STAFF)
async def change_details_view(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    typed = {name: form.text(name) for name in (*INCIDENT_FIELDS, "reason")}
    corrects = form.integer("corrects_version") or 0
    draft = DetailsDraft(**{name: typed[name] for name in INCIDENT_FIELDS})

    async def refused(
        status_code: int, errors: dict[str, str], message: str | None, version: int
    ) -> Response:
        details_form = DetailsForm(typed, version, errors, message, open=True)
        return await incident_screen(
            request, viewer, status_code=status_code, block="details", extra={"details_form": details_form}
        )

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
        return await refused(422, exc.fields, None, corrects)
    except VersionConflict as exc:
        current = exc.current
        started_from = corrects
        typed = await state.read(lambda session: rebase(session, slug, typed, started_from))
        message = (
            f"{current['author']} published details version {current['version']} since this form was "
            f"opened (reason: {current['reason']}). The form now holds that version with your own "
            "changes on top: check it, and send again if your change is still needed."
        )
        return await refused(409, {}, message, int(current["version"]))
    except NotFound as exc:
        return error_page(request, viewer, exc.message, 404)
    return see_other(request, f"/console/incidents/{slug}?notice=details_changed")
