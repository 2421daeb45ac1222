"""`/subscribe`, its confirmation and `/unsubscribe` (issue 16): residents ask for email or
SMS alerts.

SMS: `POST /subscribe` with `channel=sms` sends a 6-digit code by SMS (the only message before
confirmation) and shows the page to enter it; `POST /subscribe/code` confirms. The answer is
the same whether or not the number was already subscribed; the limits are email's.

Double opt-in: `POST /subscribe` sends a confirmation message whose link opens a page with a
Confirm button; only that button's POST confirms (mail scanners follow GET links). The answer
to `POST /subscribe` is the same whether or not the address was already subscribed (no
enumeration). Abuse limits: per client address (SUBSCRIBE_IP_LIMIT an hour) and per email
address (a few tries an hour, and at most one confirmation message an hour, in the database).
The form's CSRF token is a double submit, as the sign-in form's. `/unsubscribe` takes the
RFC 8058 one-click POST from mail providers: the token in the link is the authority.

Optionally (issue 17), `area_point` ("lat,lon") or `area_zip`: only alerts for incidents
whose area holds that point or names that ZIP code (`console.domain.subscriber_location`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console import mail
from console.alert_models import AlertChannel
from console.alerts import email, sms
from console.domain import subscriptions
from console.domain.errors import InvalidInput
from console.domain.subscriber_location import location_of
from console.i18n import in_language
from console.templating import page_context
from console.web.access import Access, access
from console.web.cookies import form_token, form_token_or_new, host_cookie_name, set_cookie
from console.web.language import page_language
from console.web.public import SLUG
from console.web.rate_limit import client_address
from console.web.staff.auth import same_origin
from console.web.staff.forms import Form, read_form
from console.web.state import app_state

log = logging.getLogger("console.web.subscribe")
TEMPLATE = "public/subscribe.html"
# same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the form POSTs.
# Links off the site never get the page URL (whose token is a key).
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
TOKEN_COOKIE_SECONDS = 2 * 60 * 60


def _cookie_name(secure: bool) -> str:
    return host_cookie_name("console_subscribe", secure)


def _from_our_form(request: Request, form: Form) -> bool:
    """The double submit: the form's token is the one in its cookie, and it comes from this site."""
    expected = form_token(request, _cookie_name(app_state(request).settings.cookies_secure))
    given = form.text("csrf_token")
    return same_origin(request) and bool(expected) and secrets.compare_digest(given, expected)


def _render(
    request: Request,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    path: str = "/subscribe",
    lang: str | None = None,
) -> Response:
    """The page in `lang`, the resident's language where it is known (the one asked for on the
    form, or the subscriber's), unless the address names one with `?lang=`: a link opened from a
    message carries no cookie of the browser the resident asked from."""
    state = app_state(request)
    chosen = page_language(request, state.languages)
    known = state.languages.find(lang) if lang is not None else None  # a stored one may be gone
    lang = chosen.lang if chosen.from_query or known is None else known
    cookie = _cookie_name(state.settings.cookies_secure)
    token = form_token_or_new(request, cookie)
    query: Mapping[str, str] = request.query_params
    chooser_path = ""  # the chooser's links are relative to the page's own address
    if request.method == "POST":
        # The answer to a form (the code page, a confirmation, an unsubscription) has no address
        # to GET: in another language, it is the form. Its own would answer 405 or 404.
        path, query, chooser_path = "/subscribe", {}, "/subscribe"
    defaults = {
        "step": "form",
        "channel": "email",
        "email": "",
        "phone": "",
        "incident": "",
        "area_point": "",
        "area_zip": "",
        "chosen_lang": lang,
        "form_token": token,
    }
    with in_language(lang):
        response = state.templates.TemplateResponse(
            request,
            TEMPLATE,
            {
                **page_context(state.settings, lang, path=path, query=query),
                "chooser_path": chooser_path,
                **defaults,
                **context,
            },
            status_code=status,
            headers={**NO_STORE, **(headers or {})},
        )
    response.headers["Content-Language"] = lang
    set_cookie(response, cookie, token, max_age=TOKEN_COOKIE_SECONDS, secure=state.settings.cookies_secure)
    return response


def _incident_param(request: Request) -> str:
    slug = request.query_params.get("incident", "")
    return slug if SLUG.fullmatch(slug) else ""


@access(Access.PUBLIC)
async def subscribe_form(request: Request) -> Response:
    return _render(request, {"incident": _incident_param(request)})


def _limit_key(channel: AlertChannel, address: str) -> str:
    """The address as the per-address limit counts it: "+34 600…" and "+34600…" are one."""
    if channel is AlertChannel.SMS:
        try:
            return subscriptions.normalized_phone(address)
        except InvalidInput:
            return address
    return address.lower()


@access(Access.PUBLIC)
async def subscribe(request: Request) -> Response:
    state = app_state(request)
    settings = state.settings
    form = await read_form(request)
    channel = AlertChannel.SMS if form.text("channel") == "sms" else AlertChannel.EMAIL
    field = "phone" if channel is AlertChannel.SMS else "email"
    address, slug = form.text(field).strip()[:300], form.text("incident").strip()[:80]
    lang = state.languages.find(form.text("lang")) or page_language(request, state.languages).lang
    point, zip_code = form.text("area_point").strip()[:100], form.text("area_zip").strip()[:20]
    answer = functools.partial(_render, request, lang=lang)  # in the language asked for
    typed = {
        field: address,
        "channel": channel.value,
        "incident": slug,
        "chosen_lang": lang,
        "area_point": point,
        "area_zip": zip_code,
    }
    if not _from_our_form(request, form):
        return answer({**typed, "error": "stale"}, status=400)  # public: never 401/403
    wait = state.subscribe_ip_limit.allow(client_address(request))
    if wait is None:
        keyed = subscriptions.address_hash(settings.secret_key._value, channel, _limit_key(channel, address))
        wait = state.subscribe_address_limit.allow(keyed)
    if wait is not None:
        seconds = str(int(wait) + 1)
        return answer({**typed, "error": "limited"}, status=429, headers={"Retry-After": seconds})
    now = state.clock()
    secret = settings.secret_key._value
    try:
        location = location_of(point, zip_code)
    except InvalidInput as exc:
        wrong = "both" if point and zip_code else "area_point" if "area_point" in exc.fields else "area_zip"
        return answer({**typed, "error": "location", "wrong": wrong}, status=400)
    try:
        if channel is AlertChannel.SMS:
            code = await state.write(
                lambda session: subscriptions.subscribe_sms(
                    session,
                    secret_key=secret,
                    phone=address,
                    lang=lang,
                    incident_slug=slug,
                    now=now,
                    allowed_prefixes=settings.sms_allowed_prefixes,
                    codes_per_hour=settings.sms_codes_per_hour,
                    location=location,
                )
            )
            if code is not None:
                await asyncio.to_thread(sms.send_code, settings, code)
            phone = subscriptions.normalized_phone(address)
            return answer({**typed, "phone": phone, "step": "code"})
        confirmation = await state.write(
            lambda session: subscriptions.subscribe(
                session,
                secret_key=secret,
                email=address,
                lang=lang,
                incident_slug=slug,
                now=now,
                location=location,
            )
        )
    except subscriptions.PrefixRefused:
        prefixes = ", ".join(settings.sms_allowed_prefixes)
        return answer({**typed, "error": "prefix", "prefixes": prefixes}, status=400)
    except InvalidInput as exc:
        error = "incident" if "incident" in exc.fields else "invalid"  # a stale or edited link
        return answer({**typed, "error": error, "problems": exc.fields}, status=400)
    except subscriptions.CodesExhausted:
        return answer({**typed, "error": "limited"}, status=429, headers={"Retry-After": "3600"})
    if confirmation is not None:
        await asyncio.to_thread(_send_confirmation, request, confirmation)
    return answer({**typed, "step": "check"})


@access(Access.PUBLIC)
async def confirm_code(request: Request) -> Response:
    """The code sent by SMS, typed on the page. A wrong code is counted (CODE_ATTEMPTS void
    it); the answer is the same for a wrong, expired or void code and an unknown number."""
    state = app_state(request)
    form = await read_form(request)
    phone, slug = form.text("phone").strip()[:40], form.text("incident").strip()[:80]
    code = form.text("code").strip()[:20]
    typed = {"channel": "sms", "phone": phone, "incident": slug, "step": "code"}
    if not _from_our_form(request, form):
        return _render(request, {**typed, "error": "stale"}, status=400, path="/subscribe/code")
    # Counted like subscribing, before any write: a flood of guesses never reaches the database.
    wait = state.subscribe_ip_limit.allow(client_address(request))
    if wait is not None:
        headers = {"Retry-After": str(int(wait) + 1)}
        return _render(
            request, {**typed, "error": "limited"}, status=429, headers=headers, path="/subscribe/code"
        )
    secret = state.settings.secret_key._value
    now = state.clock()
    confirmed = await state.write(
        lambda session: (
            subscriptions.confirm_sms(
                session, secret_key=secret, phone=phone, incident_slug=slug, code=code, now=now
            )
            is not None
        )
    )
    if not confirmed:
        return _render(request, {**typed, "error": "code"}, status=400, path="/subscribe/code")
    return _render(request, {"step": "confirmed", "channel": "sms"}, path="/subscribe/code")


def _send_confirmation(request: Request, confirmation: subscriptions.Confirmation) -> None:
    state = app_state(request)
    settings = state.settings
    link_query = {"token": confirmation.token, "lang": confirmation.lang}
    rendered = email.render_confirmation(
        state.templates.env,
        lang=confirmation.lang,
        confirm_url=f"{settings.public_url}/subscribe/confirm?{urlencode(link_query)}",
        incident_title=confirmation.incident_title,
        area_point=confirmation.location.point if confirmation.location else None,
        area_zip=confirmation.location.zip if confirmation.location else None,
    )
    message = mail.MailTemplate(rendered, mail_from=settings.mail_from).stamp(
        to=confirmation.address,
        unsubscribe_url=None,
        message_id=mail.message_id("confirm", confirmation.subscriber_id, domain=settings.public_host),
    )
    mailer = mail.mailer_from_settings(settings)
    try:
        mailer.send([message], lambda index, error: _log_failure(error))
    finally:
        mailer.close()


def _log_failure(error: str | None) -> None:
    if error is not None:
        log.warning("a confirmation message could not be sent: %s", error)


@access(Access.PUBLIC)
async def confirm_form(request: Request) -> Response:
    """The link in the confirmation message: a page with a Confirm button, nothing more."""
    state = app_state(request)
    token = request.query_params.get("token", "")
    now = state.clock()
    pending = await state.read(lambda session: subscriptions.pending_by_token(session, token, now=now))
    if pending is None:
        return _render(request, {"step": "expired"}, status=404, path="/subscribe/confirm")
    return _render(request, {"step": "confirm", "token": token}, path="/subscribe/confirm", lang=pending.lang)


@access(Access.PUBLIC)
async def confirm(request: Request) -> Response:
    state = app_state(request)
    token = (await read_form(request)).text("token")
    if not same_origin(request):
        return _render(request, {"step": "expired"}, status=400, path="/subscribe/confirm")
    now = state.clock()
    secret = state.settings.secret_key._value

    def confirmed_language(session: Session) -> str | None:
        subscriber = subscriptions.confirm(session, secret_key=secret, token=token, now=now)
        return None if subscriber is None else subscriber.lang

    confirmed_lang = await state.write(confirmed_language)
    if confirmed_lang is None:
        return _render(request, {"step": "expired"}, status=404, path="/subscribe/confirm")
    return _render(request, {"step": "confirmed"}, path="/subscribe/confirm", lang=confirmed_lang)


@access(Access.PUBLIC)
async def unsubscribe_form(request: Request) -> Response:
    token = request.query_params.get("token", "")
    known = await app_state(request).read(lambda session: subscriptions.by_unsubscribe_token(session, token))
    if known is None:
        return _render(request, {"step": "unknown"}, status=404, path="/unsubscribe")
    return _render(request, {"step": "unsubscribe", "token": token}, path="/unsubscribe", lang=known.lang)


@access(Access.PUBLIC)
async def unsubscribe(request: Request) -> Response:
    """One click (RFC 8058): the mail provider POSTs `List-Unsubscribe=One-Click` to the link;
    the page's button POSTs the same. No CSRF token: the secret token in the URL is the key."""
    state = app_state(request)
    token = request.query_params.get("token", "") or (await read_form(request)).text("token")
    now = state.clock()
    done = await state.write(lambda session: subscriptions.unsubscribe(session, token=token, now=now))
    if not done:
        return _render(request, {"step": "unknown"}, status=404, path="/unsubscribe")
    return _render(request, {"step": "unsubscribed"}, path="/unsubscribe")


def routes() -> list[BaseRoute]:
    return [
        Route("/subscribe", subscribe_form, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/subscribe/confirm", confirm_form, methods=["GET"]),
        Route("/subscribe/confirm", confirm, methods=["POST"]),
        Route("/subscribe/code", confirm_code, methods=["POST"]),
        Route("/unsubscribe", unsubscribe_form, methods=["GET"]),
        Route("/unsubscribe", unsubscribe, methods=["POST"]),
    ]
