"""The cookies the site sets, all alike: for the whole host (path /), HttpOnly, SameSite=Lax,
Secure when COOKIES_SECURE; and the double-submit form token that the forms shown before
there is a session (sign-in, subscribe) keep in one of them."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

FORM_TOKEN_BYTES = 32
FORM_TOKEN_CHARS = 43  # FORM_TOKEN_BYTES in URL-safe base64


def host_cookie_name(name: str, secure: bool) -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only, path /.
    return f"__Host-{name}" if secure else name


def set_cookie(response: Response, name: str, value: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax")


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")


def form_token(request: Request, cookie: str) -> str:
    """The browser's form token in `cookie`, or "" when it has none (or one not made here)."""
    value = request.cookies.get(cookie, "")
    ours = len(value) == FORM_TOKEN_CHARS and value.replace("-", "").replace("_", "").isalnum()
    return value if ours else ""


def form_token_or_new(request: Request, cookie: str) -> str:
    """The token to put in the form's hidden field and (again) in `cookie`."""
    return form_token(request, cookie) or secrets.token_urlsafe(FORM_TOKEN_BYTES)
