"""Turning on one's TOTP second factor: a new secret, confirmed with a code, then recovery codes once."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from console.domain import mfa
from console.domain.errors import InvalidInput, NotAllowed
from console.web.access import Access, access
from console.web.staff.auth import BEFORE_PASSWORD_CHANGE, Viewer
from console.web.staff.forms import read_form
from console.web.staff.rendering import render
from console.web.state import app_state

TEMPLATE = "console/mfa.html"


def _page(request: Request, viewer: Viewer, *, status_code: int = 200, **context: Any) -> Response:
    secret = context.pop("secret", None) or mfa.new_secret()
    full = {
        "secret": secret,
        "uri": mfa.provisioning_uri(secret, viewer.email),
        "errors": {},
        "recovery_codes": None,
        "required": mfa.required(viewer.role, mfa_required=app_state(request).settings.mfa_required),
        **context,
    }
    return render(request, TEMPLATE, full, viewer=viewer, status_code=status_code)


@access(Access.READER, BEFORE_PASSWORD_CHANGE)
async def second_factor_page(request: Request, viewer: Viewer) -> Response:
    return _page(request, viewer)


@access(Access.READER, BEFORE_PASSWORD_CHANGE)
async def turn_on_second_factor(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    form = await read_form(request)
    secret, code = form.text("secret").strip(), form.text("code")
    now = state.clock()
    try:
        codes = await state.write(
            lambda session: mfa.turn_on(session, viewer.actor, secret=secret, code=code, now=now)
        )
    except InvalidInput as exc:
        return _page(request, viewer, status_code=422, secret=secret, errors=exc.fields)
    except NotAllowed as exc:
        return _page(request, viewer, status_code=409, errors={"code": exc.message})
    return _page(request, viewer, status_code=201, recovery_codes=codes)
