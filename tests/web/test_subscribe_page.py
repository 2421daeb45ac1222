"""`/subscribe` as a resident meets it (console/web/subscribe_page.py): every refusal says why,
in the language the resident chose, and every way back to the form keeps that language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urljoin

import pytest
from starlette.testclient import TestClient

from console.settings import Settings
from console.web.app import create_app
from tests.alerts.support import form_token

PHONE = "+34600111222"
ENGLISH_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    # SMS in preview (no Twilio settings): the code is made and logged, not sent.
    with TestClient(create_app(replace(settings, languages=("en", "es"), subscribe_ip_limit=2))) as client:
        client.headers.update(ENGLISH_BROWSER)
        yield client


def alerts(html: str) -> list[str]:
    return re.findall(r'role="alert">([^<]*)<', html)


def test_too_many_code_guesses_say_so_in_the_residents_language(web: TestClient) -> None:
    form = web.get("/subscribe?lang=es")
    asked = web.post(
        "/subscribe?lang=es",
        data={"csrf_token": form_token(form.text), "channel": "sms", "phone": PHONE, "lang": "es"},
    )
    assert asked.status_code == 200 and 'name="code"' in asked.text  # 1 of the 2 an hour
    action = re.search(r'<form class="verify-form" method="post" action="([^"]+)"', asked.text)
    assert action and action.group(1).startswith("/subscribe/code")
    code = {"csrf_token": form_token(asked.text), "phone": PHONE, "incident": "", "code": "000000"}
    wrong = web.post(action.group(1), data=code)
    assert wrong.status_code == 400
    assert alerts(wrong.text) == [
        "Este código no es válido: es incorrecto, ha caducado o se intentó demasiadas veces."
    ]

    limited = web.post(action.group(1), data=code)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert '<html lang="es">' in limited.text
    # Not the same page as before with nothing said: the resident learns to wait.
    assert alerts(limited.text) == ["Demasiadas solicitudes. Inténtelo más tarde."]


def test_the_way_back_to_the_form_keeps_the_chosen_language(web: TestClient) -> None:
    """A link opened from a message in a mail app's browser has no cookie and that browser's
    Accept-Language: "Get alerts" on the code page and on an expired link's page must not
    switch a Spanish reader to English."""
    form = web.get("/subscribe?lang=es")
    code_page = web.post(
        "/subscribe?lang=es",
        data={"csrf_token": form_token(form.text), "channel": "sms", "phone": PHONE, "lang": "es"},
    ).text
    expired = web.get("/subscribe/confirm", params={"token": "no-such-token", "lang": "es"})
    assert expired.status_code == 404
    for page in (code_page, expired.text):
        assert '<html lang="es">' in page
        back = re.findall(r'<main.*?<a href="(/subscribe[^"]*)">Recibir alertas</a>', page, re.S)
        assert back, "the page links back to the form"
        web.cookies.clear()
        again = web.get(back[0].replace("&amp;", "&"))
        assert again.status_code == 200 and '<html lang="es">' in again.text


def test_the_language_chooser_of_an_answer_to_a_form_leads_to_a_page(web: TestClient) -> None:
    """The SMS code page after a wrong code is the answer to a POST to /subscribe/code, which
    has no page of its own to GET: its language chooser (and its alternate links) must lead to
    the form in the other language, not to "405 Method Not Allowed"."""
    form = web.get("/subscribe?lang=es")
    asked = web.post(
        "/subscribe?lang=es",
        data={"csrf_token": form_token(form.text), "channel": "sms", "phone": PHONE, "lang": "es"},
    )
    code = {"csrf_token": form_token(asked.text), "phone": PHONE, "incident": "", "code": "000000"}
    answer = web.post("/subscribe/code?lang=es", data=code)
    assert answer.status_code == 400
    chooser = re.search(r'<nav class="language-chooser".*?</nav>', answer.text, re.S)
    assert chooser, "the page offers its other languages"
    links = {lang: href for href, lang in re.findall(r'<a href="([^"]+)" lang="([^"]+)"', chooser.group(0))}
    alternates = re.findall(
        r'<link rel="alternate" hreflang="(\w+)" href="https?://[^/"]+([^"]*)">', answer.text
    )
    assert set(links) == {"en", "es"} and {lang for lang, _ in alternates} == {"en", "es"}
    for lang, href in [*links.items(), *alternates]:
        page = web.get(urljoin(str(answer.url), href.replace("&amp;", "&")))
        assert page.status_code == 200, f"{href} is {page.status_code}"
        assert f'<html lang="{lang}">' in page.text and 'name="csrf_token"' in page.text
