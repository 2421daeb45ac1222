"""An address nothing answers: a resident's browser gets a page in the reader's language; a
feed reader, a script and the API keep a plain answer."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from console.settings import Settings
from console.web.app import create_app

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_mistyped_address_is_a_page_in_the_readers_language(settings: Settings) -> None:
    with TestClient(create_app(dataclasses.replace(settings, languages=("en", "es")))) as client:
        spanish = client.get("/incidents/gas-leak/updates", headers={**BROWSER, "Accept-Language": "es"})
        english = client.get("/no-such-page", headers=BROWSER)
        script = client.get("/no-such-page", headers={"Accept": "*/*"})
        api = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert spanish.status_code == 404 and spanish.headers["content-type"].startswith("text/html")
    assert spanish.headers["content-language"] == "es" and '<html lang="es">' in spanish.text
    assert "No hay ninguna página en esta dirección" in spanish.text and "Not Found" not in spanish.text
    assert spanish.headers["cache-control"] == "no-store"
    assert english.status_code == 404 and "There is no page at this address" in english.text
    assert '<a href="/archive">' in english.text  # a way on
    assert script.status_code == 404 and script.text == "Not Found"
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
