"""Issue 14, point 5: a response whose body depends on a request header names that header in
`Vary`, or may not be kept by a shared cache at all. Every GET route (walked from the router)
is asked again with each header that could change the answer: htmx's `HX-Request` and every
`HX-Target` the templates use, `Accept-Language`, and the language cookie."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from starlette.testclient import TestClient

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from console.web.app import create_app, routes
from console.web.language import COOKIE as LANGUAGE_COOKIE
from tests.conftest import PIO
from tests.support.routes import walk

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def htmx_targets() -> set[str]:
    found = set()
    for template in TEMPLATES.rglob("*.html"):
        found |= set(re.findall(r'hx-target="#([\w-]+)"', template.read_text()))
    assert "archive-results" in found
    return found


def shared_cache_may_keep(cache_control: str) -> bool:
    directives = {part.strip().split("=")[0] for part in cache_control.lower().split(",")}
    return (
        "public" in directives
        or ("s-maxage" in directives and "private" not in directives)
        or ("max-age" in directives and not directives & {"private", "no-store", "no-cache"})
    )


def varies_on(vary: str, header: str) -> bool:
    named = {name.strip().lower() for name in vary.split(",")}
    return "*" in named or header.lower() in named


def test_every_answer_that_depends_on_a_header_varies_on_it(settings: Settings, db: Database) -> None:
    settings = replace(settings, languages=("en", "es"))
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Flood"), routing=routing_for(settings)
        )
        publish_update(session, PIO, incident.slug, Draft(body="Road closed."), routing=routing_for(settings))
    slug = incident.slug
    variants: list[tuple[str, dict[str, str]]] = [("HX-Request", {"HX-Request": "true"})]
    variants += [
        ("HX-Target", {"HX-Request": "true", "HX-Target": target}) for target in sorted(htmx_targets())
    ]
    variants += [
        ("Accept-Language", {"Accept-Language": "es"}),
        ("Cookie", {"Cookie": f"{LANGUAGE_COOKIE}=es"}),
    ]
    checked, problems = 0, []
    with TestClient(create_app(settings)) as client:
        for route in walk(routes()):
            if route.websocket or "GET" not in route.methods or route.path == "/static":
                continue
            path = route.example_path().replace("/example", f"/{slug}")
            if "{" in route.path and "slug" not in route.path and ":int" not in route.path:
                continue  # a feed language or channel: not part of this question
            first = client.get(path, follow_redirects=False)
            again = client.get(path, follow_redirects=False)
            if first.content != again.content or first.status_code >= 300:
                continue  # not a stable answer to cache (or not an answer)
            for header, extra in variants:
                other = client.get(path, headers=extra, follow_redirects=False)
                if other.content == first.content:
                    continue
                checked += 1
                for answer in (first, other):
                    cache = answer.headers.get("cache-control", "")
                    # The header that made the difference, or (for HX-Target) the one it comes with.
                    if shared_cache_may_keep(cache) and not varies_on(answer.headers.get("vary", ""), header):
                        problems.append((path, header, cache, answer.headers.get("vary")))
    assert checked >= 5, "no header made a difference: the test is not looking"
    assert problems == []
