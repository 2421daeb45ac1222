"""Which language a resident's page is in: `?lang=`, else the choice they made before (a
cookie), else their browser's `Accept-Language`, else the primary language."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import Response

from console.languages import Languages, UnknownLanguage, canonical_language
from console.web.cookies import set_cookie

COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_ACCEPT_LANGUAGE = 10  # preferences read from one header; browsers send a handful
MAX_ACCEPT_LANGUAGE_CHARS = 512  # ten tags with their weights fit many times over
NEGOTIATIONS_CACHED = 1024  # distinct headers remembered; browsers send few distinct ones


@dataclass(frozen=True)
class PageLanguage:
    lang: str
    source: str  # "query", "cookie", "header" or "default"

    @property
    def from_query(self) -> bool:
        return self.source == "query"


def accept_language(header: str) -> list[str]:
    """The tags of an Accept-Language header, most preferred first (q=0 dropped, `*` ignored)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:MAX_ACCEPT_LANGUAGE]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(preferred: list[str], languages: Languages) -> str | None:
    """The first preferred language the page is available in: exactly, or a broader tag of it
    (`es-MX` → `es`), or a regional one of it (`pt` → `pt-BR`)."""
    for tag in preferred:
        try:
            wanted = canonical_language(tag)
        except UnknownLanguage:
            continue
        parts = wanted.split("-")
        for length in range(len(parts), 0, -1):
            candidate = "-".join(parts[:length])
            if candidate in languages.tags:
                return candidate
        for available in languages.tags:
            if available.split("-")[0] == parts[0]:
                return available
    return None


@functools.lru_cache(maxsize=NEGOTIATIONS_CACHED)
def negotiated(header: str, languages: Languages) -> str | None:
    """`negotiate` for one header, remembered: parsing and canonicalising tags is the costly part,
    and the same few headers come with almost every request."""
    return negotiate(accept_language(header), languages)


def page_language(connection: HTTPConnection, languages: Languages) -> PageLanguage:
    asked = connection.query_params.get("lang")
    if asked is not None and (found := languages.find(asked)) is not None:
        return PageLanguage(found, "query")
    remembered = connection.cookies.get(COOKIE)
    if remembered is not None and (found := languages.find(remembered)) is not None:
        return PageLanguage(found, "cookie")
    header = connection.headers.get("accept-language")
    if header and (found := negotiated(header[:MAX_ACCEPT_LANGUAGE_CHARS], languages)) is not None:
        return PageLanguage(found, "header")
    return PageLanguage(languages.primary, "default")


def remember_choice(
    response: Response, connection: HTTPConnection, chosen: PageLanguage, *, secure: bool
) -> None:
    """Keep a language chosen with `?lang=` in a cookie (once): later pages open in it. The
    answer then carries a cookie, which a shared cache must not keep."""
    if not chosen.from_query or connection.cookies.get(COOKIE) == chosen.lang:
        return
    set_cookie(response, COOKIE, chosen.lang, max_age=COOKIE_MAX_AGE, secure=secure)
    response.headers["Cache-Control"] = "private, no-cache"
