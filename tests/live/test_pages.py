"""The residents' pages: what they show, and how they hold up in a flash crowd."""

from __future__ import annotations

import gzip
import http.client
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain import stream
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.support.factories import bearer, make_token
from tests.support.live_server import serve

BODY = (
    "Officers are responding to a report of a person with a weapon near 5th Ave and Elm St. "
    "Please avoid the area. This is an active situation; details may change."
)


@pytest.fixture
def web(live_settings: Settings) -> Iterator[TestClient]:
    # A long poll: the only queries while pages are read are the ones the pages cause.
    with TestClient(create_app(replace(live_settings, live_poll_seconds=60))) as test_client:
        yield test_client


@pytest.fixture
def token(db: Database) -> str:
    return make_token(db, "pio")


def post(web: TestClient, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = web.post(f"/api/v1{path}", json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


def incident(web: TestClient, token: str, title: str = "Police activity near Riverside Park") -> str:
    slug: str = post(web, token, "/incidents", {"title": title, "location": "5th Ave and Elm St"})["slug"]
    return slug


def eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the page never changed"
        time.sleep(0.02)


def head(db: Database) -> int:
    with db.read() as session:
        return stream.head(session)


def test_the_incident_page_shows_every_kind_of_update(web: TestClient, token: str, db: Database) -> None:
    slug = incident(web, token)
    first = post(web, token, f"/incidents/{slug}/updates", {"headline": "Avoid the area", "body": BODY})
    second = post(web, token, f"/incidents/{slug}/updates", {"body": "5th Ave closed at Oak St."})
    post(
        web,
        token,
        f"/updates/{second['id']}/corrections",
        {"body": "5th Ave closed at Pine St.", "reason": "Pine St, not Oak St", "corrects_version": 1},
    )
    third = post(
        web, token, f"/incidents/{slug}/updates", {"body": "Shelter in place.", "preliminary": False}
    )
    post(
        web, token, f"/updates/{third['id']}/retraction", {"reason": "Issued in error", "corrects_version": 1}
    )
    eventually(lambda: "Issued in error" in web.get(f"/incidents/{slug}").text)
    page = web.get(f"/incidents/{slug}").text

    # newest first
    assert page.index('id="update-3"') < page.index('id="update-2"') < page.index('id="update-1"')
    # PRELIMINARY in words, until confirmed
    assert page.count('<strong class="badge badge--preliminary">PRELIMINARY</strong>') == 2
    # corrected: the notice, the reason and a link to what changed
    assert re.search(r'Corrected <time datetime="[^"]+">\d\d:\d\d</time> — Pine St, not Oak St', page)
    assert f'<a href="/incidents/{slug}/history#update-2-v2">What changed</a>' in page
    # retracted: struck through, with the reason
    assert re.search(
        r'<del class="update__withdrawn">\s*<div class="update__body" dir="auto"><p>Shelter in place.', page
    )
    assert re.search(r'Retracted <time datetime="[^"]+">\d\d:\d\d</time> — Issued in error', page)
    # times as <time datetime> in TIMEZONE (America/Chicago)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+-0[56]:00">', page)
    # feeds, the live socket, and the stream position the page reflects
    for href in (
        f"/incidents/{slug}/feed.atom",
        f"/incidents/{slug}/feed.rss",
        "/feeds/updates.atom",
        "/feeds/updates.rss",
    ):
        assert re.search(
            rf'<link rel="alternate" type="application/(atom|rss)\+xml" title="[^"]+" href="{href}">', page
        )
    assert f'data-ws-connect="/live?incident={slug}"' in page
    assert f'<span id="live-cursor" data-event-id="{head(db)}" hidden></span>' in page
    assert 'aria-live="polite"' in page
    assert first["seq"] == 1


def test_no_inline_script_or_style(web: TestClient, token: str) -> None:
    slug = incident(web, token)
    post(web, token, f"/incidents/{slug}/updates", {"body": BODY})
    for path in ("/", f"/incidents/{slug}"):
        page = web.get(path).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
        assert " style=" not in page and "<style" not in page
        assert re.search(r"<[^>]*\son[a-z]+=", page) is None  # no onclick= and the like


def test_the_index_lists_active_incidents_with_their_latest_update(web: TestClient, token: str) -> None:
    assert "There are no active incidents." in web.get("/").text
    flood = incident(web, token, "Flooding on Route 9")
    post(web, token, f"/incidents/{flood}/updates", {"body": "Route 9 closed at the river."})
    post(web, token, f"/incidents/{flood}/updates", {"body": "Route 9 reopened northbound."})
    drill = post(web, token, "/incidents", {"title": "Evacuation drill", "alert_status": "exercise"})["slug"]
    over = incident(web, token, "Gas leak")
    post(web, token, f"/incidents/{over}/resolve", {"message": "All clear: leak fixed."})
    eventually(lambda: "Gas leak" not in web.get("/").text and "Evacuation drill" in web.get("/").text)
    page = web.get("/").text
    assert f'<a href="/incidents/{flood}">Flooding on Route 9</a>' in page
    assert "Route 9 reopened northbound." in page and "Route 9 closed at the river." not in page
    assert '<strong class="badge badge--exercise">EXERCISE</strong> <a href="/incidents/' + drill in page
    assert 'data-ws-connect="/live"' in page
    assert (
        "There are no active incidents." in page
        and 'id="incidents-empty" class="timeline-empty" hidden' in page
    )


def test_a_resolved_incident_says_so(web: TestClient, token: str) -> None:
    slug = incident(web, token)
    post(web, token, f"/incidents/{slug}/resolve", {"message": "All clear: leak fixed."})
    eventually(lambda: "RESOLVED" in web.get(f"/incidents/{slug}").text)
    assert "This incident is over" in web.get(f"/incidents/{slug}").text


def test_the_all_clear_is_shown_first_in_place_of_the_stale_summary(web: TestClient, token: str) -> None:
    slug = post(
        web, token, "/incidents", {"title": "Gas leak", "summary": "Crews are responding. Avoid the area."}
    )["slug"]
    post(web, token, f"/incidents/{slug}/updates", {"body": "Evacuate Elm St."})
    assert "Crews are responding. Avoid the area." in web.get(f"/incidents/{slug}").text
    post(web, token, f"/incidents/{slug}/resolve", {"message": "All clear: you may return home."})
    eventually(lambda: "All clear: you may return home." in web.get(f"/incidents/{slug}").text)
    page = web.get(f"/incidents/{slug}").text
    assert "Crews are responding. Avoid the area." not in page
    header = page.split('<header class="incident">', 1)[1].split("</header>", 1)[0]
    assert (
        '<div class="incident__all-clear"><strong class="badge badge--resolved">RESOLVED</strong>' in header
    )
    assert "All clear: you may return home." in header
    assert page.index("All clear: you may return home.") < page.index('id="timeline"')


@pytest.mark.parametrize(
    "path", ["/incidents/no-such-thing", "/incidents/Not%20a%20slug", "/incidents/" + "a" * 200]
)
def test_an_unknown_incident_is_a_readable_404(web: TestClient, path: str) -> None:
    response = web.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "There is no incident at this address." in response.text


def test_pages_are_cacheable_and_revalidate_with_304(web: TestClient, token: str) -> None:
    slug = incident(web, token)
    post(web, token, f"/incidents/{slug}/updates", {"body": BODY})
    eventually(lambda: BODY in web.get(f"/incidents/{slug}").text)
    for path in ("/", f"/incidents/{slug}"):
        plain = web.get(path, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert plain.headers["cache-control"] == (
            "public, max-age=5, stale-while-revalidate=5, stale-if-error=3600"
        )
        assert plain.headers["vary"] == "Accept-Encoding"
        etag, modified = plain.headers["etag"], plain.headers["last-modified"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        zipped = web.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["etag"] == etag[:-1] + '-gzip"'
        assert zipped.text == plain.text  # (the test client decompresses)
        for headers in (
            {"If-None-Match": etag},
            {"If-None-Match": zipped.headers["etag"], "Accept-Encoding": "gzip"},
            {"If-None-Match": f'"other", W/{etag}'},
            {"If-Modified-Since": modified},
        ):
            again = web.get(path, headers=headers)
            assert again.status_code == 304, headers
            assert again.content == b"" and again.headers["etag"] in (etag, zipped.headers["etag"])
        assert web.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
        refused = web.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "content-encoding" not in refused.headers

    # A new update changes the tag, and the old one no longer matches.
    old = web.get(f"/incidents/{slug}").headers["etag"]
    post(web, token, f"/incidents/{slug}/updates", {"body": "Second update"})
    eventually(lambda: web.get(f"/incidents/{slug}").headers["etag"] != old)
    assert web.get(f"/incidents/{slug}", headers={"If-None-Match": old}).status_code == 200


def crowd(web: TestClient, paths: list[str]) -> list[httpx2.Response]:
    """GET each path in turn, as `web.get` does, but from inside the app's event loop: the
    same app and lifespan state, without the test client's thread hops for every request."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = web.app_state.copy()  # as the test client passes the lifespan's state
        await web.app(scope, receive, send)

    async def get_all() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=str(web.base_url)) as client:
            return [await client.get(path) for path in paths]

    assert web.portal is not None, "inside the test client's `with`"
    return web.portal.call(get_all)


def test_a_flash_crowd_does_not_reach_the_database(web: TestClient, token: str) -> None:
    slug = incident(web, token)
    post(web, token, f"/incidents/{slug}/updates", {"body": BODY})
    eventually(lambda: BODY in web.get(f"/incidents/{slug}").text)
    web.get("/")
    web.get("/incidents/no-such-incident")  # rendered once, then cached like the others
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        pages = [f"/incidents/{slug}", "/", "/incidents/no-such-incident"]
        assert [response.status_code for response in crowd(web, pages * 200)] == [200, 200, 404] * 200
        assert statements == []
        # A publication makes each page render once more, then they are served from memory again.
        post(web, token, f"/incidents/{slug}/updates", {"body": "Second update"})
        eventually(lambda: "Second update" in web.get(f"/incidents/{slug}").text)
        statements.clear()
        for response in crowd(web, [f"/incidents/{slug}"] * 100):
            assert "Second update" in response.text
        assert statements == []
        # Made-up addresses (each read once) never push the real pages out of memory.
        web.get("/")
        made_up = crowd(web, [f"/incidents/made-up-{n}" for n in range(600)])
        assert [response.status_code for response in made_up] == [404] * 600
        statements.clear()
        assert "Second update" in web.get(f"/incidents/{slug}").text
        assert web.get("/").status_code == 200
        assert statements == []
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_the_content_security_policy_allows_the_live_socket(web: TestClient) -> None:
    policy = web.get("/").headers["content-security-policy"]
    assert "connect-src 'self' ws://127.0.0.1:8000;" in policy
    assert "script-src 'self';" in policy and "style-src 'self';" in policy


def fetch(url: str, path: str) -> tuple[int, bytes, dict[str, str]]:
    """GET with gzip accepted, returning what crossed the wire (not decompressed)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_page_weight_is_under_50_kb_compressed(live_settings: Settings, db: Database) -> None:
    """A long incident page with everything it loads (styles, htmx, the ws extension, live.js)."""
    routing = routing_for(live_settings)
    # Written through the domain in one transaction: the page is what is weighed, not the API.
    with db.write() as session:
        created, _ = create_incident(
            session,
            PIO,
            IncidentDraft(title="Police activity near Riverside Park", location="5th Ave and Elm St"),
            routing=routing,
        )
        slug = created.slug
        for n in range(60):
            draft = Draft(headline=f"Update {n}: road closures", body=f"{n} {BODY} {BODY} {BODY}")
            publish_update(session, PIO, slug, draft, routing=routing)
    with serve(live_settings) as server:
        status, page, headers = fetch(server.url, f"/incidents/{slug}")
        assert status == 200 and headers["content-encoding"] == "gzip"
        html = gzip.decompress(page).decode()
        assert html.count('class="timeline__item"') == live_settings.public_timeline_limit
        assert "This page shows the newest 50 of 60 updates." in html
        assets = re.findall(r'<(?:link rel="stylesheet"|script) (?:href|src)="(/static/[^"]+)"', html)
        assert len(assets) == 5  # public.css, htmx, the ws extension, live.js, area.js
        total = len(page)
        for asset in assets:
            status, body, headers = fetch(server.url, asset)
            assert status == 200 and headers.get("content-encoding") == "gzip", asset
            total += len(body)
        assert total < 50 * 1024, f"{total} bytes"


def test_a_details_correction_shows_on_the_page(web: TestClient, token: str) -> None:
    slug = post(web, token, "/incidents", {"title": "Gas laek", "location": "Elm St"})["slug"]
    post(
        web,
        token,
        f"/incidents/{slug}/details",
        {"title": "Gas leak", "location": "Elm St and Oak St", "reason": "Typo", "corrects_version": 1},
    )
    page = web.get(f"/incidents/{slug}").text
    assert '<h1 id="incident-title" class="incident__title">Gas leak</h1>' in page
    assert '<p class="incident__where">Elm St and Oak St</p>' in page


def test_links_to_an_update_older_than_the_page_shows_lead_to_its_history(
    live_settings: Settings, token: str
) -> None:
    """The incident page shows its newest PUBLIC_TIMELINE_LIMIT updates. "What to do now"
    (pinned early in a long incident) and the "Update N was corrected" notice link to their
    update: when it is no longer on the page, the link leads to it in the history, where it
    is, instead of to an anchor the page does not have (a link that does nothing)."""
    settings = replace(live_settings, live_poll_seconds=60, public_timeline_limit=2)
    with TestClient(create_app(settings)) as web:
        slug = incident(web, token)
        first = post(web, token, f"/incidents/{slug}/updates", {"headline": "Shelter in place", "body": BODY})
        post(web, token, f"/incidents/{slug}/pin", {"seq": 1})
        post(web, token, f"/incidents/{slug}/updates", {"body": "5th Ave closed at Oak St."})
        post(web, token, f"/incidents/{slug}/updates", {"body": "Officers are at the scene."})
        post(
            web,
            token,
            f"/updates/{first['id']}/corrections",
            {
                "headline": "Shelter in place",
                "body": BODY + " Stay away from windows.",
                "reason": "Windows",
                "corrects_version": 1,
            },
        )
        eventually(lambda: "Stay away from windows." in web.get(f"/incidents/{slug}").text)
        page = web.get(f"/incidents/{slug}").text
        index = web.get("/").text
        history = web.get(f"/incidents/{slug}/history").text

    assert 'id="update-3"' in page and 'id="update-1"' not in page, "update 1 is older than the page shows"
    pinned = page.split('<section id="what-to-do-now"', 1)[1].split("</section>", 1)[0]
    assert f'<a href="/incidents/{slug}/history#update-1">Update 1</a>' in pinned
    notice = page.split('<p id="latest-change"', 1)[1].split("</p>", 1)[0]
    assert "Update 1 was corrected" in notice
    assert f'href="/incidents/{slug}/history#update-1"' in notice
    # Every link to an update of this page lands on something: on the page, or in the history.
    for target in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{target}"' in page, f"#{target} is not on the page"
    for target in re.findall(rf'href="/incidents/{slug}#([^"]+)"', index):
        assert f'id="{target}"' in page, f"/incidents/{slug}#{target} is not on the incident page"
    assert 'id="update-1"' in history
