"""Accounts and API tokens, for admins: create people, disable or enable them, change roles,
issue tokens (shown once), revoke tokens; and the partners' webhooks with their delivery logs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import account_controls, accounts, fanout, subscriptions
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.models import Role, User
from console.web.access import Access, access
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import read_form
from console.web.staff.rendering import refused_page, render, see_other
from console.web.state import app_state

ADMIN = "console/admin.html"
USER_FIELDS = ("email", "display_name", "role")


async def _admin_page(
    request: Request,
    viewer: Viewer,
    *,
    status_code: int = 200,
    block: str | None = None,
    **context: Any,
) -> Response:
    def load(session: Session) -> dict[str, Any]:
        hooks = subscriptions.webhooks(session)
        return {
            "users": accounts.list_users(session),
            "tokens": accounts.list_tokens(session),
            # Partners' webhooks (issue 16), each with its latest deliveries; registered through the API.
            "webhooks": [(hook, fanout.deliveries_of(session, hook.id, limit=10)) for hook in hooks],
        }

    lists = await app_state(request).read(load)
    full = {
        "roles": [role.value for role in Role],
        "user_typed": {"role": Role.PIO.value},
        "user_errors": {},
        "token_typed": {},
        "token_errors": {},
        "issued_password": None,
        "issued_token": None,
        "revoke_step": None,
        "account_step": None,
        **lists,
        **context,
    }
    return render(request, ADMIN, full, viewer=viewer, status_code=status_code, block=block)


@access(Access.ADMIN, STAFF)
async def admin_page(request: Request, viewer: Viewer) -> Response:
    return await _admin_page(request, viewer)


@access(Access.ADMIN, STAFF)
async def create_user(request: Request, viewer: Viewer) -> Response:
    """A new account with a one-time password, shown once; the person sets their own at first sign-in."""
    state = app_state(request)
    form = await read_form(request)
    typed = {name: form.text(name) for name in USER_FIELDS}
    password = accounts.generate_password()

    def work(session: Session) -> str:
        user = accounts.create_user(
            session,
            viewer.actor,
            email=typed["email"],
            display_name=typed["display_name"],
            role=typed["role"],
            password=password,
            must_change_password=True,
            now=state.clock(),
        )
        return user.email

    try:
        email = await state.write(work)
    except InvalidInput as exc:
        return await _admin_page(request, viewer, status_code=422, user_typed=typed, user_errors=exc.fields)
    return await _admin_page(
        request, viewer, status_code=201, issued_password={"email": email, "password": password}
    )


@access(Access.ADMIN, STAFF)
async def create_token(request: Request, viewer: Viewer) -> Response:
    """A new API token, shown once: only its hash is kept."""
    state = app_state(request)
    form = await read_form(request)
    typed = {"email": form.text("email"), "name": form.text("name")}

    def work(session: Session) -> dict[str, str]:
        issued = accounts.create_token(
            session, viewer.actor, email=typed["email"], name=typed["name"] or None, now=state.clock()
        )
        return {"secret": issued.secret, "name": issued.token.name, "email": issued.token.user.email}

    try:
        issued = await state.write(work)
    except InvalidInput as exc:
        return await _admin_page(request, viewer, status_code=422, token_typed=typed, token_errors=exc.fields)
    except NotFound:
        errors = {"email": "has no account"}
        return await _admin_page(request, viewer, status_code=422, token_typed=typed, token_errors=errors)
    return await _admin_page(request, viewer, status_code=201, issued_token=issued)


@access(Access.ADMIN, STAFF)
async def revoke_token(request: Request, viewer: Viewer) -> Response:
    """One action plus a confirmation (`confirmed=yes`)."""
    state = app_state(request)
    form = await read_form(request)
    token_id = request.path_params["token_id"]
    if not form.flag("confirmed"):
        return await _admin_page(request, viewer, revoke_step=token_id, block="tokens")
    try:
        await state.write(
            lambda session: accounts.revoke_token(session, viewer.actor, token_id, now=state.clock())
        )
    except (NotFound, NotAllowed) as exc:
        return refused_page(request, viewer, exc)
    return see_other(request, "/console/admin?notice=token_revoked")


async def _account_change(request: Request, viewer: Viewer, change: str) -> Response:
    state = app_state(request)
    form = await read_form(request)
    user_id = request.path_params["user_id"]
    if change != "role_change" and not form.flag("confirmed"):  # one action plus a confirmation
        return await _admin_page(request, viewer, account_step={"user_id": user_id, "change": change})
    now = state.clock()

    def work(session: Session) -> None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"no account with id {user_id}")
        if change == "disable":
            account_controls.disable_user(session, viewer.actor, email=user.email, now=now)
        elif change == "enable":
            account_controls.enable_user(session, viewer.actor, email=user.email, now=now)
        else:
            account_controls.set_role(
                session, viewer.actor, email=user.email, role=form.text("role"), now=now
            )

    try:
        await state.write(work)
    except (NotFound, NotAllowed, InvalidInput) as exc:
        return refused_page(request, viewer, exc)
    return see_other(request, f"/console/admin?notice=user_{change}d")


@access(Access.ADMIN, STAFF)
async def disable_user(request: Request, viewer: Viewer) -> Response:
    """Shut an account off: its sessions end and its tokens are revoked at once."""
    return await _account_change(request, viewer, "disable")


@access(Access.ADMIN, STAFF)
async def enable_user(request: Request, viewer: Viewer) -> Response:
    return await _account_change(request, viewer, "enable")


@access(Access.ADMIN, STAFF)
async def set_role(request: Request, viewer: Viewer) -> Response:
    return await _account_change(request, viewer, "role_change")
