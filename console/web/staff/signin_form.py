"""The sign-in form, and its CSRF token before there is a session.

Before sign-in there is no session to derive a token from, so the form uses a double
submit: a random value in an HttpOnly cookie and the same value in a hidden field. A page
on another site can neither read the cookie nor set it, so it cannot forge the pair.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

from console.web.cookies import form_token, form_token_or_new, host_cookie_name, set_cookie
from console.web.staff.rendering import render
from console.web.state import app_state

SIGNIN_TOKEN_SECONDS = 2 * 60 * 60


def signin_cookie_name(secure: bool) -> str:
    return host_cookie_name("console_signin", secure)


def signin_token(request: Request) -> str:
    """The browser's current sign-in token, or "" when it has none."""
    return form_token(request, signin_cookie_name(app_state(request).settings.cookies_secure))


async def signin_page(
    request: Request,
    *,
    status_code: int = 200,
    message: str | None = None,
    next_path: str = "/console",
    email: str = "",
    typed: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    settings = app_state(request).settings
    cookie = signin_cookie_name(settings.cookies_secure)
    token = form_token_or_new(request, cookie)
    response = render(
        request,
        "console/login.html",
        {
            "signin_token": token,
            "message": message,
            "next_path": next_path,
            "email": email,
            "typed": dict(typed or {}),
        },
        viewer=None,
        status_code=status_code,
        headers=headers,
    )
    set_cookie(response, cookie, token, max_age=SIGNIN_TOKEN_SECONDS, secure=settings.cookies_secure)
    response.headers["Cache-Control"] = "no-store"
    return response
