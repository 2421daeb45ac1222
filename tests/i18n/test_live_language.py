"""The live page in the reader's language: the chooser, `?lang=`, the remembered choice,
`Accept-Language`; translations shown while current, the primary text with a notice once
stale; and a translation pushed live to the readers of its language only."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from console.db import Database
from console.domain import stream
from console.languages import Languages
from console.settings import Settings
from console.web.app import create_app
from console.web.language import accept_language, negotiate
from tests.live.support import receive, subscribe
from tests.support.factories import bearer, make_token
from tests.support.live_server import LiveServer, serve

LANGUAGES = ("en", "es", "vi")


@pytest.fixture
def multilingual(settings: Settings) -> Settings:
    return replace(settings, languages=LANGUAGES, live_poll_seconds=0.2, timezone="America/Chicago")


@pytest.fixture
def web(multilingual: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(multilingual)) as client:
        yield client


@pytest.fixture
def token(db: Database) -> str:
    return make_token(db, "pio")


def post(web: TestClient, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = web.post(f"/api/v1{path}", json=body, headers=bearer(token))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the page never changed"
        time.sleep(0.02)


def published(web: TestClient, token: str) -> tuple[str, int]:
    slug: str = post(web, token, "/incidents", {"title": "Gas leak", "location": "Elm St"})["slug"]
    update = post(
        web,
        token,
        f"/incidents/{slug}/updates",
        {
            "headline": "Evacuate Elm St",
            "body": "Residents of Elm St should leave now.",
            "translations": [
                {
                    "lang": "es",
                    "headline": "Evacúen Elm St",
                    "body": "Los residentes de Elm St deben salir ya.",
                }
            ],
        },
    )
    return slug, update["id"]


def test_accept_language_is_honoured_and_the_page_says_its_language(
    web: TestClient, token: str, multilingual: Settings
) -> None:
    slug, _ = published(web, token)
    page = web.get(f"/incidents/{slug}", headers={"Accept-Language": "fr;q=1, es-MX;q=0.8, en;q=0.5"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "es"
    assert "Accept-Language" in page.headers["vary"] and "Cookie" in page.headers["vary"]
    html = page.text
    assert '<html lang="es">' in html
    assert "Los residentes de Elm St deben salir ya." in html and "should leave now" not in html
    assert "Actualizaciones, las más recientes primero" in html  # interface strings in Spanish
    assert '<strong class="badge badge--preliminary">PRELIMINAR</strong>' in html
    # The incident's own words are in the primary language, and say so.
    assert '<p class="incident__where" lang="en">Elm St</p>' in html
    # The same page in every language, for readers and search engines.
    base = multilingual.public_url
    for lang in LANGUAGES:
        assert f'<link rel="alternate" hreflang="{lang}" href="{base}/incidents/{slug}?lang={lang}">' in html
    assert 'hreflang="x-default"' in html
    assert re.search(r'<a href="\?lang=es" lang="es" hreflang="es" aria-current="true">Español</a>', html)
    assert re.search(r'<a href="\?lang=vi" lang="vi" hreflang="vi">Tiếng Việt</a>', html)

    english = web.get(f"/incidents/{slug}", headers={"Accept-Language": "de, en-GB;q=0.9"})
    assert '<html lang="en">' in english.text and "should leave now" in english.text
    nothing = web.get(f"/incidents/{slug}", headers={"Accept-Language": "de"})
    assert nothing.headers["content-language"] == "en", "no shared language: the primary one"


def test_lang_parameter_wins_and_is_remembered(web: TestClient, token: str) -> None:
    slug, _ = published(web, token)
    chosen = web.get(f"/incidents/{slug}?lang=es", headers={"Accept-Language": "vi"})
    assert chosen.headers["content-language"] == "es"
    assert "lang=es" in chosen.headers["set-cookie"] and "HttpOnly" in chosen.headers["set-cookie"]
    assert chosen.headers["cache-control"].startswith("private"), "a shared cache must not keep the cookie"
    remembered = web.get(
        f"/incidents/{slug}", headers={"Accept-Language": "vi"}
    )  # the client keeps the cookie
    assert remembered.headers["content-language"] == "es"
    assert '<html lang="es">' in remembered.text
    again = web.get("/?lang=es")
    assert "set-cookie" not in again.headers, "already remembered"
    assert "Incidentes activos" in again.text
    unknown = web.get(f"/incidents/{slug}?lang=klingon")
    assert unknown.status_code == 200 and unknown.headers["content-language"] == "es", (
        "ignored: the cookie holds"
    )


def test_a_stale_translation_is_never_shown_as_current(web: TestClient, token: str) -> None:
    slug, update_id = published(web, token)
    spanish = "Los residentes de Elm St deben salir ya."
    assert spanish in web.get(f"/incidents/{slug}?lang=es").text
    post(
        web,
        token,
        f"/updates/{update_id}/corrections",
        {
            "body": "Residents of Elm and Oak St should leave now.",
            "reason": "Oak St too",
            "corrects_version": 1,
        },
    )
    eventually(lambda: "Oak St should leave" in web.get(f"/incidents/{slug}?lang=es").text)
    html = web.get(f"/incidents/{slug}?lang=es").text
    # The stale translation is never the text shown: only folded below it, labelled with the
    # version it describes (issue 13.2); the notice says, in Spanish, when the update changed.
    earlier = html.index('<details class="update__earlier-translation">')
    assert html.count(spanish) == html.count("Evacúen") == 1 and html.index(spanish) > earlier
    assert "<summary>Traducción anterior, de la versión 1</summary>" in html[earlier:]
    assert f'<div class="update__body" lang="es" dir="auto"><p>{spanish}' in html[earlier:]  # not the summary
    assert re.search(
        r'Corregida a las <time datetime="[^"]+">\d\d:\d\d</time>; la traducción se está actualizando\.', html
    )
    assert "Este es el texto más reciente en inglés." in html
    assert (
        '<div class="update__body" dir="auto" lang="en">'
        "<p>Residents of Elm and Oak St should leave now.</p></div>" in html
    )
    assert '— <span lang="en">Oak St too</span>' in html  # the reason is in the primary language

    # A language never translated, and without a catalog: the page's own words are English
    # (so is its `lang`), and so is the primary text it shows, which then needs no mark.
    vietnamese = web.get(f"/incidents/{slug}?lang=vi").text
    assert '<html lang="en">' in vietnamese and "Not translated yet." in vietnamese
    assert (
        '<div class="update__body" dir="auto"><p>Residents of Elm and Oak St should leave now.</p>'
        in vietnamese
    )

    post(
        web,
        token,
        f"/updates/{update_id}/translations",
        {"lang": "es", "body": "Los residentes de Elm y Oak St deben salir ya.", "version": 2},
    )
    eventually(lambda: "Elm y Oak St" in web.get(f"/incidents/{slug}?lang=es").text)
    html = web.get(f"/incidents/{slug}?lang=es").text
    assert "la traducción se está actualizando" not in html and "update__earlier-translation" not in html
    assert (
        '<div class="update__body" dir="auto"><p>Los residentes de Elm y Oak St deben salir ya.</p></div>'
        in html
    )


def test_a_retracted_update_strikes_its_translation_too(web: TestClient, token: str) -> None:
    """A reader of Spanish sees the withdrawn text struck through in Spanish (the translation of
    the version it withdrew still says it), and no notice that a translation is coming: a
    retraction is not translated anew."""
    slug = post(web, token, "/incidents", {"title": "Gas leak"})["slug"]
    update = post(web, token, f"/incidents/{slug}/updates", {"body": "Evacuate Oak St now."})
    spanish = "Evacúen Oak St ahora."
    post(web, token, f"/updates/{update['id']}/translations", {"lang": "es", "body": spanish, "version": 1})
    post(web, token, f"/updates/{update['id']}/retraction", {"reason": "Wrong street", "corrects_version": 1})
    eventually(lambda: "update--retracted" in web.get(f"/incidents/{slug}?lang=es").text)
    html = web.get(f"/incidents/{slug}?lang=es").text
    card = html[html.index('id="update-1"') :]
    summary, withdrawn = card.split('<del class="update__withdrawn">', 1)
    assert f'<summary><s dir="auto">{spanish}</s></summary>' in summary
    assert spanish in withdrawn[: withdrawn.index("</del>")]
    assert "Evacuate Oak St now." not in card and "update__earlier-translation" not in card
    assert "la traducción se está actualizando" not in card and "Retirada" in card

    # Translated, corrected, then retracted: the translation of the first text, older than what
    # was withdrawn, is folded inside the struck-through text, never beside it as if it stood.
    second = post(web, token, f"/incidents/{slug}/updates", {"body": "Shelter at Lincoln High."})
    post(
        web,
        token,
        f"/updates/{second['id']}/translations",
        {"lang": "es", "body": "Refugio en Lincoln.", "version": 1},
    )
    post(
        web,
        token,
        f"/updates/{second['id']}/corrections",
        {"body": "Shelter at Roosevelt High.", "reason": "Lincoln is full", "corrects_version": 1},
    )
    post(
        web,
        token,
        f"/updates/{second['id']}/retraction",
        {"reason": "Shelters closed", "corrects_version": 2},
    )
    eventually(lambda: web.get(f"/incidents/{slug}?lang=es").text.count("update--retracted") == 2)
    html = web.get(f"/incidents/{slug}?lang=es").text
    card = html[html.index('id="update-2"') : html.index('id="update-1"')]
    withdrawn = card.split('<del class="update__withdrawn">', 1)[1]
    assert "Refugio en Lincoln." in withdrawn[: withdrawn.rindex("</del>")]
    assert "la traducción se está actualizando" not in card


def test_a_language_without_a_catalog_has_english_words_and_marks_its_translations(
    web: TestClient, token: str
) -> None:
    """Vietnamese has no catalog: headings, buttons, dates and names of languages are English,
    the page says `lang="en"`, and every Vietnamese text on it carries `lang="vi"` (a screen
    reader speaks each in its own voice), on the page, on `/` and in the history."""
    slug, update_id = published(web, token)
    post(
        web,
        token,
        f"/updates/{update_id}/translations",
        {"lang": "vi", "body": "Cư dân phải rời đi ngay.", "version": 1},
    )
    post(
        web,
        token,
        f"/incidents/{slug}/details/translations",
        {"lang": "vi", "title": "Rò rỉ khí gas", "location": "Phố Elm", "version": 1},
    )
    eventually(lambda: "Rò rỉ khí gas" in web.get(f"/incidents/{slug}?lang=vi").text)
    page = web.get(f"/incidents/{slug}?lang=vi").text
    assert '<html lang="en">' in page and "Updates, newest first" in page
    assert '<div class="update__body" dir="auto" lang="vi"><p>Cư dân phải rời đi ngay.</p></div>' in page
    assert '<span lang="vi">Rò rỉ khí gas</span></h1>' in page
    assert '<p class="incident__where" lang="vi">Phố Elm</p>' in page
    index = web.get("/?lang=vi").text
    assert '<html lang="en">' in index and 'lang="vi">Rò rỉ khí gas</a>' in index
    history = web.get(f"/incidents/{slug}/history?lang=vi").text
    assert '<html lang="en">' in history and '<span lang="vi">Rò rỉ khí gas</span>: history' in history
    # Spanish has a catalog: its page speaks Spanish, and its own texts need no mark.
    assert '<html lang="es">' in web.get(f"/incidents/{slug}?lang=es").text


def test_one_language_configured_changes_nothing(settings: Settings, db: Database) -> None:
    with TestClient(create_app(settings)) as client:
        page = client.get("/", headers={"Accept-Language": "es"})
    assert page.headers["vary"] == "Accept-Encoding"
    assert (
        '<html lang="en">' in page.text
        and "hreflang" not in page.text
        and "language-chooser" not in page.text
    )


@pytest.fixture
def live(multilingual: Settings) -> Iterator[LiveServer]:
    with serve(replace(multilingual, live_hello_seconds=3.0)) as server:
        yield server


def test_a_translation_is_pushed_to_the_readers_of_its_language(live: LiveServer, db: Database) -> None:
    token = make_token(db, "pio")
    with TestClient(create_app(live.settings)) as web:  # the API of the same database
        slug, update_id = published(web, token)
    with db.read() as session:
        position = stream.head(session)
    with (
        subscribe(live.ws_url, position, incident=f"{slug}&lang=es") as spanish,
        subscribe(live.ws_url, position, incident=f"{slug}&lang=en") as english,
    ):
        request = urllib.request.Request(
            f"{live.url}/api/v1/updates/{update_id}/translations",
            data=json.dumps({"lang": "es", "body": "Salgan de Elm St ahora.", "version": 1}).encode(),
            method="POST",
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            event_id = json.load(response)["event_id"]
        [pushed] = receive(spanish, 1)
        assert pushed.event_id == event_id
        assert '<li class="timeline__item" id="item-update-1" data-hx-swap-oob="true">' in pushed.html
        assert "Salgan de Elm St ahora." in pushed.html
        assert "Actualización 1 traducida" in pushed.html
        [unchanged] = receive(english, 1)
        assert unchanged.event_id == event_id, "the English page's cursor moves on"
        assert "Salgan" not in unchanged.html and "item-update-1" not in unchanged.html


def test_a_websocket_with_an_unknown_language_is_refused(live: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{live.ws_url}/live?lang=klingon", open_timeout=10)
    assert refused.value.response.status_code == 400


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("fr, vi;q=0.1", "vi"),
        ("en;q=0, es;q=0.2", "es"),  # q=0: not acceptable at all
        ("*", None),
        ("de-AT, de", None),
        ("VI-vn", "vi"),
        ("es;q=abc, vi;q=0.5", "vi"),
    ],
)
def test_accept_language_negotiation(header: str, expected: str | None) -> None:
    assert negotiate(accept_language(header), Languages(LANGUAGES)) == expected


def test_a_regional_language_serves_readers_of_the_language() -> None:
    assert negotiate(accept_language("pt"), Languages(("en", "pt-BR"))) == "pt-BR"
    assert negotiate(accept_language("zh-Hant-TW"), Languages(("en", "zh-Hant"))) == "zh-Hant"


def test_labels_follow_the_page_language_whatever_rendered_first(web: TestClient, token: str) -> None:
    """Templates compile once: a label must not be fixed in the language of the first rendering."""
    slug, _ = published(web, token)
    english = web.get(f"/incidents/{slug}?lang=en").text
    assert '<strong class="badge badge--active">ACTIVE</strong>' in english
    spanish = web.get(f"/incidents/{slug}?lang=es").text
    assert '<strong class="badge badge--active">ACTIVO</strong>' in spanish
    assert '<strong class="badge badge--preliminary">PRELIMINAR</strong>' in spanish
