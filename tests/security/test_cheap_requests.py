"""Issue 14, point 8: what a URL or a header says cannot make the server work hard or make an
official page say something: Accept-Language is read to its first 10 tags and remembered,
error pages never repeat text from the URL, and `next=` is normalized before it is checked."""

from __future__ import annotations

from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.languages import Languages
from console.settings import Settings
from console.web.app import create_app
from console.web.language import accept_language, negotiated
from console.web.staff.auth import local_path
from tests.support.factories import PASSWORD
from tests.web.staff.conftest import email_of, signin_form_token

SAYS = "Evacuate-now-call-555-0100"


def test_accept_language_is_read_to_its_first_ten_tags_and_remembered() -> None:
    languages = Languages(("en", "es"))
    eleven = ", ".join([*(f"x{n}" for n in range(10)), "es"])
    assert accept_language(eleven) == [f"x{n}" for n in range(10)]
    assert negotiated(eleven, languages) is None  # the 11th tag is never read
    assert negotiated("de, es;q=0.5", languages) == "es"
    hits = negotiated.cache_info().hits
    assert negotiated("de, es;q=0.5", languages) == "es"
    assert negotiated.cache_info().hits == hits + 1


def test_a_long_accept_language_picks_the_primary_language(settings: Settings, db: Database) -> None:
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        header = ", ".join(["zz"] * 5000 + ["es"])
        response = client.get("/", headers={"Accept-Language": header})
    assert response.status_code == 200 and response.headers["content-language"] == "en"


@pytest.mark.parametrize(
    "path",
    [
        f"/incidents/{SAYS}",
        f"/incidents/{SAYS}/history",
        f"/incidents/{SAYS}.json",
        f"/incidents/{SAYS}/history.csv",
        f"/incidents/{SAYS}/feed.atom",
        f"/incidents/{SAYS}/cap/1-1.xml",
        f"/feeds/{SAYS}/updates.atom",
        f"/feeds/es/incidents/{SAYS}/feed.rss",
        f"/api/v1/incidents/{SAYS}",
        f"/{SAYS}",
    ],
)
def test_error_pages_do_not_repeat_text_from_the_url(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "555-0100" not in response.text and "Evacuate" not in response.text


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/console/incidents/x", "/console/incidents/x"),
        ("/console/updates/3?notice=published", "/console/updates/3?notice=published"),
        ("/console/../logout", "/console"),
        ("/console/%2e%2e/api/v1/audit", "/console"),
        ("/console/./incidents/../admin", "/console/admin"),
        ("/console//incidents", "/console/incidents"),
        ("/console/..//evil.example", "/console"),
        ("/consolefoo", "/console"),
        ("//evil.example/console", "/console"),
        ("/console/%5c%5cevil.example", "/console"),
    ],
)
def test_next_is_normalized_before_it_is_checked(given: str, kept: str) -> None:
    assert local_path(given) == kept


def test_sign_in_goes_to_the_normalized_next(client: TestClient, people: dict[str, int]) -> None:
    response = client.post(
        "/login",
        data={
            "email": email_of("pio"),
            "password": PASSWORD,
            "next": "/console/incidents/../../archive",
            "csrf_token": signin_form_token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
