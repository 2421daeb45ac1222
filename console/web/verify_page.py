"""`/verify` ("Is this real?"): anyone pastes a text or a link that claims to come from the
agency and learns whether it did, with the signature checked and what became of it since.

The form is POSTed so that what a visitor pastes never lands in a URL, an access log or a
cache; it is not stored or logged either (the answer is `no-store`). Checks are rate-limited
per client address. The page is in the reader's language (as the live pages choose it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console.domain import rumors, text_check
from console.i18n import in_language
from console.keyset import KeySet
from console.templating import page_context
from console.web.access import Access, access
from console.web.language import page_language
from console.web.rate_limit import client_address
from console.web.staff.forms import read_form
from console.web.state import app_state

TEMPLATE = "public/verify.html"
AnsweredRumor = tuple[text_check.RumorMatch, rumors.RumorEntry]
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Finding:
    """One match, as the page shows it."""

    match: text_check.Match
    status: text_check.UpdateStatus
    signature_kid: str | None
    signature_ok: bool

    @property
    def lang(self) -> str | None:
        translation = self.match.candidate.translation
        return translation.lang if translation else None


def _signature_ok(keys: KeySet, kid: str | None, value: str | None, content_hash: str, moment: Any) -> bool:
    key = keys.find(kid) if kid else None
    return (
        key is not None
        and value is not None
        and key.verifies(content_hash.encode(), value)
        and key.covers(moment)
    )


def _findings(session: Session, result: text_check.CheckResult, keys: KeySet) -> list[Finding]:
    findings = []
    for match in result.matches:
        signed = match.candidate.translation or match.candidate.version
        moment = (
            match.candidate.translation.created_at
            if match.candidate.translation
            else match.candidate.version.published_at
        )
        findings.append(
            Finding(
                match,
                text_check.status_of(session, match),
                signed.signature_kid,
                _signature_ok(
                    keys, signed.signature_kid, signed.signature_value, signed.content_hash, moment
                ),
            )
        )
    return findings


def _render(
    request: Request, context: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    state = app_state(request)
    lang = page_language(request, state.languages).lang
    with in_language(lang):
        response = state.templates.TemplateResponse(
            request,
            TEMPLATE,
            {**page_context(state.settings, lang, path="/verify"), **context},
            status_code=status,
            headers={**NO_STORE, **(headers or {})},
        )
    response.headers["Content-Language"] = lang
    return response


@access(Access.PUBLIC)
async def verify_form(request: Request) -> Response:
    return _render(request, {"checked": False, "text": ""})


@access(Access.PUBLIC)
async def verify_check(request: Request) -> Response:
    state = app_state(request)
    text = (await read_form(request)).text("text")[: text_check.TEXT_MAX]
    wait = state.verify_limit.allow(client_address(request))
    if wait is not None:
        # Not checked, but still in the box: the resident sends it again once the wait is over.
        return _render(
            request,
            {"checked": False, "text": text, "limited": int(wait) + 1},
            status=429,
            headers={"Retry-After": str(int(wait) + 1)},
        )
    if not text.strip():
        return _render(request, {"checked": False, "text": "", "empty": True}, status=400)
    keys = state.keys.keys

    def work(session: Session) -> tuple[text_check.CheckResult, list[Finding], list[AnsweredRumor]]:
        result = text_check.check_link(session, text, state.settings.public_url)
        answered: list[AnsweredRumor] = []
        if result is None:
            result = text_check.check_text(session, text)
            matched = text_check.check_rumors(session, text)
            ids = [match.rumor_id for match in matched]
            entries = {entry.rumor.id: entry for entry in rumors.rumor_entries(session, rumor_ids=ids)}
            answered = [(match, entries[match.rumor_id]) for match in matched]
        return result, _findings(session, result, keys), answered

    result, findings, answered = await state.read(work)
    context = {"checked": True, "text": text, "result": result, "findings": findings, "rumors": answered}
    return _render(request, context)


def routes() -> list[BaseRoute]:
    return [
        Route("/verify", verify_form, methods=["GET"]),
        Route("/verify", verify_check, methods=["POST"]),
    ]
