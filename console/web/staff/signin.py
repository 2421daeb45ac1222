"""Sign-in, sign-out and changing one's password."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.domain import account_controls, accounts, mfa, sessions, signin
from console.domain.errors import InvalidInput
from console.models import SignInOutcome, User
from console.web.access import Access, access
from console.web.cookies import clear_cookie, set_cookie
from console.web.rate_limit import client_address
from console.web.staff.auth import (
    BEFORE_PASSWORD_CHANGE,
    SessionGate,
    Viewer,
    current_viewer,
    local_path,
    same_origin,
    session_cookie,
    session_id_of,
)
from console.web.staff.forms import read_form
from console.web.staff.rendering import render, see_other
from console.web.staff.signin_form import signin_cookie_name, signin_page, signin_token
from console.web.state import AppState, app_state

SESSION_COOKIE_SECONDS = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
WRONG_CREDENTIALS = "The email or password is not right. Check both and try again."
STALE_SIGNIN = "The sign-in form had expired. Please sign in again."
MISSING = "Enter both your email address and your password."


def _refusal_message(why: signin.Refusal, request: Request) -> str:
    until = why.until.astimezone(app_state(request).settings.zone).strftime("%H:%M")
    if why.scope == "account":
        return (
            "Too many failed sign-ins for this email address. Sign-in for it is paused until "
            f"{until} ({app_state(request).settings.timezone}), even with the right password. "
            "Wait until then, or ask an admin for help."
        )
    return (
        "Too many failed sign-ins from your network. Sign-in from here is paused until "
        f"{until} ({app_state(request).settings.timezone})."
    )


def _throttled(state: AppState, email: str, ip: str, now: datetime) -> signin.Refusal | None:
    known = state.signin_refusals.find([f"address {ip}", f"account {signin.attempt_key(email)}"], now)
    if known is not None:
        return signin.Refusal(*known)
    wait = state.signin_limit.allow(ip)
    return signin.Refusal("address", now + timedelta(seconds=wait)) if wait is not None else None


async def _refused_page(
    request: Request, why: signin.Refusal, now: datetime, *, next_path: str, email: str
) -> Response:
    retry_after = max(int((why.until - now).total_seconds()), 1)
    return await signin_page(
        request,
        status_code=429,
        message=_refusal_message(why, request),
        next_path=next_path,
        email=email,
        headers={"Retry-After": str(retry_after)},
    )


@access(Access.PUBLIC)
async def login_form(request: Request) -> Response:
    viewer = await current_viewer(request, activity=False)
    next_path = local_path(request.query_params.get("next"))
    if viewer is not None:
        return RedirectResponse(next_path, status_code=303)
    message = None
    if request.query_params.get("expired"):
        message = "Your session ended. Sign in again to continue."
    elif request.query_params.get("signed_out"):
        message = "You are signed out."
    return await signin_page(request, message=message, next_path=next_path)


@access(Access.PUBLIC)
async def login(request: Request) -> Response:
    state = app_state(request)
    settings = state.settings
    form = await read_form(request)
    email, password, code = form.text("email").strip(), form.text("password"), form.text("code")
    next_path = local_path(form.text("next"))
    given = form.text("csrf_token")
    # Before sign-in the token is the double-submit cookie's; a signed-in person may also
    # sign in again (as someone else) with their session's token.
    existing = session_id_of(request)
    expected = [signin_token(request)] + ([sessions.csrf_token(existing)] if existing else [])
    if not same_origin(request) or not any(sessions.tokens_match(given, e) for e in expected if e):
        return await signin_page(
            request, status_code=403, message=STALE_SIGNIN, next_path=next_path, email=email
        )
    if not email:  # not an attempt on any account; a blank password is, and fails like a wrong one
        return await signin_page(request, status_code=400, message=MISSING, next_path=next_path, email=email)

    ip = client_address(request)
    now = state.clock()
    # A lockout already seen, or too many attempts this minute from the address: refused from
    # memory, before anything is read or written.
    throttled = _throttled(state, email, ip, now)
    if throttled is not None:
        return await _refused_page(request, throttled, now, next_path=next_path, email=email)
    why = await state.read(lambda session: signin.refusal(session, email, ip, now=now))
    if why is None:
        # The slow password check runs outside the write lock, so it never holds up publishing.
        user = await state.read(lambda session: accounts.check_credentials(session, email, password))
        user_id = user.id if user is not None else None

        def conclude(session: Session) -> tuple[signin.Outcome, str | None, bool]:
            account = session.get(User, user_id) if user_id is not None else None
            # A second factor, when on, is part of the credentials: a missing or wrong code
            # fails like a wrong password (and counts towards the same lockout).
            checked = user_id if account is None or mfa.check(session, account, code, now=now) else None
            outcome = signin.conclude(session, email, ip, checked, now=now)
            if outcome.user is None:
                return outcome, None, False
            if existing:
                sessions.end(session, existing, now=now)
            return outcome, sessions.start(session, outcome.user, now=now), outcome.user.must_change_password

        outcome, new_session, must_change = await state.write(conclude)
    else:
        outcome = await state.write(lambda session: signin.record_refused(session, email, ip, why, now=now))
        new_session, must_change = None, False

    if outcome.outcome is SignInOutcome.REFUSED:
        assert outcome.refusal is not None
        key = (
            f"address {ip}" if outcome.refusal.scope == "address" else f"account {signin.attempt_key(email)}"
        )
        state.signin_refusals.remember(key, outcome.refusal.scope, outcome.refusal.until)
        return await _refused_page(request, outcome.refusal, now, next_path=next_path, email=email)
    if new_session is None:
        return await signin_page(
            request, status_code=400, message=WRONG_CREDENTIALS, next_path=next_path, email=email
        )
    response = RedirectResponse("/console/password" if must_change else next_path, status_code=303)
    secure = settings.cookies_secure
    set_cookie(response, session_cookie(settings), new_session, max_age=SESSION_COOKIE_SECONDS, secure=secure)
    clear_cookie(response, signin_cookie_name(secure), secure=secure)
    response.headers["Cache-Control"] = "no-store"
    return response


@access(Access.READER, SessionGate(activity=False, before_password_change=True))
async def logout(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    settings = state.settings
    session_id = session_id_of(request)
    now = state.clock()
    if session_id is not None:
        await state.write(lambda session: sessions.end(session, session_id, now=now))
    response = see_other(request, "/login?signed_out=1")
    clear_cookie(response, session_cookie(settings), secure=settings.cookies_secure)
    return response


def _password_page(
    request: Request, viewer: Viewer, *, errors: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "console/password.html",
        {"errors": errors or {}, "password_min": accounts.PASSWORD_MIN},
        viewer=viewer,
        status_code=status_code,
    )


@access(Access.READER, BEFORE_PASSWORD_CHANGE)
async def password_form(request: Request, viewer: Viewer) -> Response:
    return _password_page(request, viewer)


@access(Access.READER, BEFORE_PASSWORD_CHANGE)
async def change_password(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    settings = state.settings
    form = await read_form(request)
    current, new, again = (
        form.text("current_password"),
        form.text("new_password"),
        form.text("new_password_again"),
    )
    if new != again:
        return _password_page(
            request, viewer, errors={"new_password_again": "does not match the new password"}, status_code=422
        )
    now: datetime = state.clock()
    # Guessing the current password here (from a stolen session, to keep the account) counts
    # against the same lockout as guessing it at sign-in. The lockout is decided inside the
    # serialized write, and a wrong guess is counted in the same transaction: guesses racing
    # in parallel are refused (unchecked) from the tenth failure on, the right password too.
    ip = client_address(request)

    def work(session: Session) -> str | signin.Refusal | InvalidInput:
        why = signin.refusal(session, viewer.email, ip, now=now)
        if why is not None:
            return why
        try:
            user = accounts.change_password(session, viewer.actor, current=current, new=new, now=now)
        except InvalidInput as exc:
            if "current_password" in exc.fields and current:  # a guess (a blank one never is)
                signin.conclude(session, viewer.email, ip, None, now=now)
            return exc
        # Every session of the account ends (a thief's too); this browser gets a fresh one.
        sessions.end_all(session, user.id)
        return sessions.start(session, user, now=now)

    new_session = await state.write(work)
    if isinstance(new_session, signin.Refusal):
        errors = {"current_password": _refusal_message(new_session, request)}
        response = _password_page(request, viewer, errors=errors, status_code=429)
        response.headers["Retry-After"] = str(max(int((new_session.until - now).total_seconds()), 1))
        return response
    if isinstance(new_session, InvalidInput):
        return _password_page(request, viewer, errors=new_session.fields, status_code=422)
    response = see_other(request, "/console?notice=password_changed")
    secure = settings.cookies_secure
    set_cookie(response, session_cookie(settings), new_session, max_age=SESSION_COOKIE_SECONDS, secure=secure)
    return response


@access(Access.READER, BEFORE_PASSWORD_CHANGE)
async def end_other_sessions(request: Request, viewer: Viewer) -> Response:
    """Sign out every other browser of this account; this one stays signed in."""
    state = app_state(request)
    form = await read_form(request)
    if not form.flag("confirmed"):  # the form's button sends it; anything else changes nothing
        return _password_page(request, viewer)
    now = state.clock()
    await state.write(
        lambda session: account_controls.end_other_sessions(
            session, viewer.actor, keep_session_row_id=viewer.signed_in.session_row_id, now=now
        )
    )
    return see_other(request, "/console/password?notice=sessions_ended")
