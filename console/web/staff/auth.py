"""Who is signed in to the console, and what they may do here.

Every staff view is declared `@access(level, STAFF)` (or another `SessionGate`), which
enforces that level for the session's user. The JSON
API never looks at these cookies: it takes bearer tokens only, so a browser session cannot
be used against it from another site.

State-changing requests (anything but GET/HEAD/OPTIONS) must carry the session's CSRF
token, in the `csrf_token` form field or the `X-CSRF-Token` header that htmx sends from
`data-hx-headers` on <body>, and must not come from another origin. Otherwise: 403, and the
view never runs, so nothing is written.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.domain import mfa, sessions
from console.domain.access import NEEDS
from console.domain.actors import Actor
from console.domain.sessions import SignedIn
from console.models import Role
from console.settings import Settings
from console.web.access import Access, permits
from console.web.cookies import clear_cookie, host_cookie_name
from console.web.staff.forms import form_data
from console.web.staff.rendering import error_page, is_htmx
from console.web.staff.signin_form import signin_page
from console.web.state import app_state

StaffEndpoint = Callable[[Request, "Viewer"], Awaitable[Response]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PASSWORD_PATH = "/console/password"
MFA_PATH = "/console/mfa"
# Fields whose text is shown back when a session ended mid-post, so nothing typed is lost.
TYPED_FIELDS = ("title", "summary", "headline", "body", "reason")
# A session id is 43 characters; anything much longer is not one of ours.
MAX_COOKIE_CHARS = 100


def session_cookie(settings: Settings) -> str:
    return host_cookie_name("console_session", settings.cookies_secure)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person making this request, with the CSRF token of their session.

    `resent_form`: the form came from a page opened before they signed in again (its token is
    another session's); the view shows it back at its review step and acts on nothing.
    """

    signed_in: SignedIn
    csrf: str
    resent_form: bool = False

    @property
    def actor(self) -> Actor:
        return self.signed_in.actor

    @property
    def role(self) -> Role:
        return self.signed_in.role

    @property
    def display_name(self) -> str:
        return self.signed_in.display_name

    @property
    def email(self) -> str:
        return self.signed_in.email

    @property
    def can_publish(self) -> bool:
        return self.actor.can_publish

    @property
    def can_audit(self) -> bool:
        return self.actor.can_audit

    @property
    def can_manage_accounts(self) -> bool:
        return self.actor.can_manage_accounts


def session_id_of(request: Request) -> str | None:
    value = request.cookies.get(session_cookie(app_state(request).settings))
    return value if value and len(value) <= MAX_COOKIE_CHARS else None


async def current_viewer(request: Request, *, activity: bool) -> Viewer | None:
    """The signed-in viewer, or None. `activity` keeps the session alive (polling does not)."""
    session_id = session_id_of(request)
    if session_id is None:
        return None
    state = app_state(request)
    now = state.clock()
    signed_in = await state.read(lambda session: sessions.resume(session, session_id, now=now))
    if signed_in is None:
        return None
    if activity and signed_in.needs_touch(now):
        await state.write(lambda session: sessions.touch(session, signed_in.session_row_id, now=now))
    return Viewer(signed_in, sessions.csrf_token(session_id))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    Allowed: no Origin header (older clients, curl; the token still has to match) unless a
    Referer names another site, the origin of PUBLIC_URL, or the origin the request was
    addressed to (a page cannot make a browser send a Host header of another site).
    """
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    addressed = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    ours = {_origin(app_state(request).settings.public_url), addressed}
    origin = request.headers.get("origin")
    if origin is None:
        # No Origin (an older browser): a Referer, when sent, must be one of our pages too.
        referer = request.headers.get("referer")
        return referer is None or _origin(referer) in ours
    return origin.lower() in ours


async def csrf_ok(request: Request, expected: str) -> bool:
    """Same origin, and the session's token in htmx's header (set when the page loaded) or in
    the form's field (set when the form was rendered, which may be later: a form shown back
    after signing in again)."""
    if not same_origin(request):
        return False
    if sessions.tokens_match(request.headers.get(CSRF_HEADER), expected):
        return True
    field = (await form_data(request)).get(CSRF_FIELD)
    return isinstance(field, str) and sessions.tokens_match(field, expected)


async def resent(request: Request) -> bool:
    """A form from one of our pages that carries a token, though not this session's: one
    opened before its author signed in again. (A console form always carries a token.)"""
    if not same_origin(request):
        return False
    return bool(request.headers.get(CSRF_HEADER) or (await form_data(request)).get(CSRF_FIELD))


def local_path(value: str | None, default: str = "/console") -> str:
    """`value` if it is a path on this site under /console, else `default` (no open redirects).

    The path is normalized first, as the browser would resolve it (`..` and `.` segments, also
    percent-encoded, and repeated slashes), so `/console/../elsewhere` is not taken for a
    console page; the normalized path is what is returned.
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    decoded = unquote(parts.path)
    if "\\" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return default
    path = "/" + posixpath.normpath(decoded).lstrip("/")
    if path != "/console" and not path.startswith("/console/"):
        return default
    return quote(path, safe="/-._~!$&'()*+,;=:@") + (f"?{parts.query}" if parts.query else "")


def _referring_page(request: Request) -> str:
    referer = request.headers.get("referer")
    if referer and _origin(referer) in {
        _origin(str(request.url)),
        _origin(app_state(request).settings.public_url),
    }:
        parts = urlsplit(referer)
        return local_path(parts.path + (f"?{parts.query}" if parts.query else ""))
    return "/console"


def flash(request: Request, viewer: Viewer | None, message: str, status_code: int) -> Response:
    """For htmx: show `message` in the page's message area and leave the rest (and typed text) alone."""
    htmx_target = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return error_page(request, viewer, message, status_code, block="flash", headers=htmx_target)


async def signed_out(request: Request) -> Response:
    """No valid session: sign in again, without losing anything the person was sending."""
    settings = app_state(request).settings
    ended = session_id_of(request) is not None
    # A console page's own request (htmx) comes from a session: one without a cookie is the next
    # request of a page whose session ended and whose cookie the last answer cleared.
    message = (
        "Your session has ended (30 minutes without activity, 12 hours after sign-in, or signed out)."
        if ended or is_htmx(request)
        else "Sign in to use the console."
    )
    if is_htmx(request):
        response = flash(
            request,
            None,
            f"{message} Nothing was sent from this page, and what you typed stays on it: sign in "
            "again in a new tab, then send this form again to check it before it goes out.",
            401,
        )
    elif request.method in SAFE_METHODS:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        suffix = "&expired=1" if ended else ""
        response = RedirectResponse(
            f"/login?next={quote(local_path(target), safe='/')}{suffix}", status_code=303
        )
    else:
        form = await form_data(request)
        typed = {name: value for name in TYPED_FIELDS if isinstance(value := form.get(name), str) and value}
        response = await signin_page(
            request,
            status_code=401,
            message=f"{message} Nothing was published or saved.",
            next_path=_referring_page(request),
            typed=typed,
        )
    if ended:
        clear_cookie(response, session_cookie(settings), secure=settings.cookies_secure)
    return response


def forbidden(request: Request, viewer: Viewer, message: str) -> Response:
    if is_htmx(request):
        return flash(request, viewer, message, 403)
    return error_page(request, viewer, message, 403)


STALE_FORM = (
    "This form is out of date or did not come from this console, so nothing was done. "
    "Copy anything you typed, reload the page and try again."
)
RESENT_FORM = (
    "You signed in again after this form was opened, so nothing was published. "
    "Here it is as you sent it: check it, then publish."
)


@dataclass(frozen=True)
class SessionGate:
    """Enforce the route's declared access level for console sessions, and CSRF on writes; the
    view gets the `Viewer`.

    `activity=False` for requests the page makes by itself (polling), which must not keep an
    unattended session alive. `before_password_change=True` for the few views a person who
    must change their password may use before they do.
    """

    activity: bool = True
    before_password_change: bool = False
    # A form with a review step (or its preview): sent from this site with another session's
    # token (opened before signing in again), it is shown back at that step (403, nothing
    # done) instead of refused.
    reviews_resent_forms: bool = False

    def admits(self, level: Access) -> bool:
        return level is not Access.PUBLIC

    async def enter(self, request: Request, level: Access, endpoint: StaffEndpoint) -> Response:
        viewer = await current_viewer(request, activity=self.activity)
        if viewer is None:
            return await signed_out(request)
        if request.method not in SAFE_METHODS and not await csrf_ok(request, viewer.csrf):
            if not (self.reviews_resent_forms and await resent(request)):
                return forbidden(request, viewer, STALE_FORM)
            viewer = replace(viewer, resent_form=True)
        if viewer.signed_in.must_change_password and not self.before_password_change:
            if is_htmx(request):
                return Response(status_code=200, headers={"HX-Redirect": PASSWORD_PATH})
            return RedirectResponse(PASSWORD_PATH, status_code=303)
        settings = app_state(request).settings
        if (
            mfa.required(viewer.role, mfa_required=settings.mfa_required)
            and not viewer.signed_in.has_second_factor
            and not self.before_password_change
        ):
            if is_htmx(request):
                return Response(status_code=200, headers={"HX-Redirect": MFA_PATH})
            return RedirectResponse(MFA_PATH, status_code=303)
        if not permits(viewer.role, level):
            return forbidden(
                request,
                viewer,
                f"Your account ({viewer.role.value}) may not do this: it needs {NEEDS[level]}.",
            )
        response = await endpoint(request, viewer)
        if viewer.resent_form:
            if response.status_code < 400:
                response.status_code = 403  # shown back, never acted on
            # console.js gives the page this session's token, so its other forms work again
            response.headers["HX-Trigger"] = json.dumps({"console-session-changed": {"csrf": viewer.csrf}})
        response.headers.setdefault("Cache-Control", "no-store")
        return response


STAFF = SessionGate()
STAFF_POLLING = SessionGate(activity=False)  # the page asking by itself: keeps no session alive
# Forms with a review step (publish, correct, confirm, retract), their previews and autosave
STAFF_REVIEWED = SessionGate(reviews_resent_forms=True)
BEFORE_PASSWORD_CHANGE = SessionGate(before_password_change=True)
