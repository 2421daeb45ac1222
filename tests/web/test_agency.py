"""Issue 18: the agency's identity on every public surface: its name (and site, and logo),
its press contact and the emergency notice, in the header and footer of every public page."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.settings import Settings, SettingsError
from console.web.app import create_app
from tests.conftest import PIO

# A 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PAGES = ("/", "/archive", "/corrections", "/rumors", "/verify", "/subscribe", "/incidents/flood")


@pytest.fixture
def flood(db: Database, routing: Routing) -> None:
    with db.write() as session:
        create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)


def header_and_footer(page: str) -> tuple[str, str]:
    header = page[page.index('<header class="site-header">') : page.index("</header>")]
    footer = page[page.index('<footer class="site-footer">') : page.index("</footer>")]
    return header, footer


def test_every_public_page_says_whose_it_is_and_where_to_call(
    settings: Settings, client: TestClient, flood: None
) -> None:
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        header, footer = header_and_footer(page.text)
        assert f'<span class="agency__name"><span>{settings.agency_name}</span></span>' in header, path
        assert "<strong>In an emergency, call 911.</strong>" in header, path
        assert settings.agency_contact in footer and settings.agency_name in footer, path
        assert "<img" not in header, "no logo is set"
    assert client.get("/agency/logo").status_code == 404


def test_the_agency_s_site_logo_and_own_notice_are_shown(
    settings: Settings, tmp_path: Path, flood: None
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    agency = replace(
        settings,
        languages=("en", "es"),
        agency_name="Rivertown Police Department",
        agency_url="https://police.rivertown.example",
        agency_logo=logo,
        agency_contact="Press: 555-0142 · Non-emergency: 555-0100",
        emergency_notice="Emergencies: call 911 or text 911.",
    )
    with TestClient(create_app(agency)) as client:
        header, footer = header_and_footer(client.get("/incidents/flood").text)
        assert '<a class="agency__name" href="https://police.rivertown.example">' in header
        assert '<img class="agency__logo" src="/agency/logo" alt="">' in header
        assert "<strong>Emergencies: call 911 or text 911.</strong>" in header
        assert "Press: 555-0142 · Non-emergency: 555-0100" in footer
        served = client.get("/agency/logo")
        assert served.status_code == 200 and served.content == PNG
        assert served.headers["content-type"] == "image/png"

        # A page in Spanish: the agency's own words keep their language, and say so.
        header, footer = header_and_footer(client.get("/incidents/flood?lang=es").text)
        assert '<span lang="en">Rivertown Police Department</span>' in header
        assert (
            '<p class="agency__emergency" lang="en"><strong>Emergencies: call 911 or text 911.</strong>'
            in header
        )
        assert '<p class="agency-footer" lang="en">' in footer


def test_the_default_notice_is_in_the_reader_s_language(settings: Settings, flood: None) -> None:
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        header, _ = header_and_footer(client.get("/?lang=es").text)
    assert '<p class="agency__emergency"><strong>En caso de emergencia, llame al 911.</strong></p>' in header


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"AGENCY_NAME": "  "}, "AGENCY_NAME must not be blank"),
        ({"AGENCY_URL": "police.example"}, "AGENCY_URL must be an absolute http(s) URL"),
        ({"AGENCY_LOGO": "logo.gif"}, "AGENCY_LOGO must be a .jpeg, .jpg, .png, .svg, .webp file"),
        ({"EMERGENCY_NOTICE": " "}, "EMERGENCY_NOTICE must not be blank"),
    ],
)
def test_bad_agency_settings_are_refused_at_start(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(problem)):
        Settings.from_environ(environ)
