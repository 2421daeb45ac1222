"""`/rumors`: the agency's rumor responses, newest first, in the reader's language."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console.domain import public, rumors
from console.i18n import in_language
from console.templating import page_context
from console.web.access import Access, access
from console.web.language import page_language
from console.web.state import app_state

TEMPLATE = "public/rumors.html"
SHOWN = 200


@access(Access.PUBLIC)
async def rumors_page(request: Request) -> Response:
    state = app_state(request)
    lang = page_language(request, state.languages).lang

    def read(session: Session) -> tuple[list[rumors.RumorEntry], dict[str, tuple[str, str]]]:
        entries = rumors.rumor_entries(session, limit=SHOWN)
        if lang == state.languages.primary:
            return entries, {}
        slugs = {entry.incident_slug for entry in entries if entry.incident_slug}
        return entries, public.translated_titles(session, slugs, lang)

    entries, titles = await state.read(read)
    cache = state.settings.public_cache_seconds
    headers = {"Cache-Control": f"public, max-age={cache}", "Content-Language": lang}
    if len(state.settings.languages) > 1:
        headers["Vary"] = "Accept-Language, Cookie"
    with in_language(lang):
        return state.templates.TemplateResponse(
            request,
            TEMPLATE,
            {**page_context(state.settings, lang, path="/rumors"), "entries": entries, "titles": titles},
            headers=headers,
        )


def routes() -> list[BaseRoute]:
    return [Route("/rumors", rumors_page, methods=["GET"])]
