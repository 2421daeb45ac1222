"""`/verify` ("Is this real?"): a pasted text or link against the agency's record."""

from __future__ import annotations

import html
import logging
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, RumorTranslationDraft, publish_rumor
from console.domain.text_check import normalize
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, correct_update, publish_update, retract_update
from console.languages import Languages
from console.models import AuditEvent
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.support.browser import screenshot
from tests.support.live_server import LiveServer

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
REAL = "Residents of Elm St between 3rd and 5th must evacuate now. Shelter at Lincoln High School."
WRONG = "Oak St is closed in both directions until further notice."
FIXED = "Oak St is closed northbound only until further notice."
WITHDRAWN = "A boil-water notice is in effect for the whole north side."
CLAIM = "There is a second shooter on Elm St"


@pytest.fixture
def record(db: Database, routing: Routing) -> dict[str, int]:
    tick = iter(T0 + timedelta(minutes=n) for n in range(20))
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak on Elm St"), routing=routing, now=next(tick)
        )
        real = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="Evacuate", body=REAL, preliminary=False),
            routing=routing,
            translations=Translations(
                [TranslationDraft("es", "Los residentes de Elm St deben evacuar ahora.", "Evacuar")],
                Languages(("en", "es")),
            ),
            now=next(tick),
        )
        wrong = publish_update(
            session, PIO, incident.slug, Draft(body=WRONG), routing=routing, now=next(tick)
        )
        correct_update(
            session,
            PIO,
            wrong.update.id,
            Draft(body=FIXED),
            reason="Only one direction is closed",
            corrects_version=1,
            routing=routing,
            now=next(tick),
        )
        withdrawn = publish_update(
            session, PIO, incident.slug, Draft(body=WITHDRAWN), routing=routing, now=next(tick)
        )
        retract_update(
            session,
            PIO,
            withdrawn.update.id,
            reason="Issued for the wrong district",
            routing=routing,
            now=next(tick),
        )
        publish_rumor(
            session,
            PIO,
            RumorDraft(CLAIM, "false", "One suspect was involved and is in custody.", seen_at="X"),
            incident_slug=incident.slug,
            routing=routing,
            languages=Languages(("en", "es")),
            translations=[
                RumorTranslationDraft("es", "Hay un segundo tirador en Elm St", "Hay un solo sospechoso.")
            ],
            now=next(tick),
        )
        return {"real": real.update.seq, "wrong": wrong.update.seq, "withdrawn": withdrawn.update.seq}


@pytest.fixture
def checker(settings: Settings) -> TestClient:
    with TestClient(create_app(replace(settings, languages=("en", "es")))) as client:
        yield client


def check(client: TestClient, text: str, **headers: str) -> str:
    answer = client.post("/verify", data={"text": text}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.text


def test_normalizing_ignores_whitespace_case_links_and_labels() -> None:
    assert normalize("  PRELIMINARY: CORRECTION:  Elm St\n\n  CLOSED. https://t.co/abc ") == "elm st closed"
    assert normalize("RUMOR CONTROL: FALSE — “Second shooter”") == "second shooter"
    assert normalize("ＥＬＭ　St closed") == "elm st closed"  # full-width letters and space (NFKC)


def test_a_real_text_is_published_and_signed(checker: TestClient, record: dict[str, int]) -> None:
    page = check(checker, f"PRELIMINARY:  {REAL.upper()}  https://example.gov/x")
    assert "Published by us" in page and "Signature verified: signed with our key" in page
    assert "This is the current text of the update." in page
    headline_and_body = check(checker, f"Evacuate\n{REAL}")
    assert "Published by us" in headline_and_body


def test_a_corrected_text_shows_the_current_one(checker: TestClient, record: dict[str, int]) -> None:
    page = check(checker, WRONG)
    assert "Published by us" in page and "<strong>Corrected</strong>" in page
    assert "Only one direction is closed" in page and FIXED in page


def test_a_retracted_text_shows_the_reason(checker: TestClient, record: dict[str, int]) -> None:
    page = check(checker, WITHDRAWN)
    assert "<strong>Retracted</strong>" in page and "Issued for the wrong district" in page


def test_a_fake_text_was_not_published_and_a_near_one_is_shown_as_such(
    checker: TestClient, record: dict[str, int]
) -> None:
    fake = check(checker, "All residents of the city must evacuate immediately, police say.")
    assert "No update with this text was published here." in fake and "Published by us" not in fake
    doctored = REAL.replace("Lincoln High School", "the city stadium")
    near = check(checker, doctored)
    assert "Not what we published." in near and "Published by us" not in near
    assert re.search(r"Closest update \(\d+% the same words\)", near) and REAL in near


def test_a_text_repeating_a_recorded_claim_gets_the_rumor_response(
    checker: TestClient, record: dict[str, int]
) -> None:
    page = check(checker, f"BREAKING!!! {CLAIM.upper()} — stay inside, share this https://x.example/p/1")
    assert "This claim was answered by our rumor control." in page
    assert '<strong class="rumor__verdict">FALSE</strong>' in page and "One suspect was involved" in page
    assert "No update with this text was published here." not in page
    spanish = check(checker, "Hay un segundo tirador en Elm St", **{"Accept-Language": "es"})
    assert "Esta afirmación fue respondida por nuestro control de rumores." in spanish
    assert "FALSO" in spanish and "Hay un solo sospechoso." in spanish


@pytest.mark.parametrize(
    "link",
    ["/incidents/gas-leak-on-elm-st#update-{seq}", "/incidents/gas-leak-on-elm-st/updates/{seq}"],
    ids=["page", "alert"],
)
def test_a_link_to_an_update_is_checked(
    checker: TestClient, settings: Settings, record: dict[str, int], link: str
) -> None:
    page = check(checker, settings.public_url + link.format(seq=record["wrong"]))
    assert "Published by us" in page and "<strong>Corrected</strong>" in page
    none = check(checker, settings.public_url + link.format(seq=99))
    assert "We did not publish this." in none


def test_the_answer_is_in_the_readers_language(checker: TestClient, record: dict[str, int]) -> None:
    page = check(checker, "Los residentes de Elm St deben evacuar ahora.", **{"Accept-Language": "es-MX"})
    assert '<html lang="es">' in page and "Publicado por nosotros" in page
    assert "Firma verificada" in page
    fake = check(checker, "Texto inventado que nunca publicamos aquí.", **{"Accept-Language": "es"})
    assert "No se publicó aquí ninguna actualización con este texto." in fake


def test_a_language_chosen_on_the_page_is_kept_for_the_answer(
    checker: TestClient, record: dict[str, int]
) -> None:
    """A resident whose browser asks for English chose Español (`/verify?lang=es`, as the
    chooser links it): the answer to the form they send is in Spanish too, not in English."""
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    form = checker.get("/verify?lang=es", headers=english_browser)
    assert '<html lang="es">' in form.text
    action = re.search(r'<form class="verify-form" method="post" action="([^"]+)"', form.text)
    assert action, "the page has the form"
    answer = checker.post(action.group(1).replace("&amp;", "&"), data={"text": REAL}, headers=english_browser)
    assert answer.status_code == 200
    assert answer.headers["content-language"] == "es"
    assert '<html lang="es">' in answer.text and "Publicado por nosotros" in answer.text


def test_nothing_pasted_is_stored_or_logged(
    checker: TestClient, db: Database, record: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "A very distinctive phrase zebra-quartz-771 that nobody published"
    with db.read() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    with caplog.at_level(logging.DEBUG):
        check(checker, secret)
    assert "zebra-quartz-771" not in caplog.text
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert checker.get("/verify").status_code == 200


def test_checks_are_rate_limited(checker: TestClient, record: dict[str, int]) -> None:
    for _ in range(20):
        assert checker.post("/verify", data={"text": "anything"}).status_code == 200
    limited = checker.post("/verify", data={"text": "anything"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "Too many checks" in limited.text


def test_a_limited_check_keeps_what_was_pasted(checker: TestClient, record: dict[str, int]) -> None:
    """Over the limit, the page says to wait: the text pasted (perhaps from a message since
    lost) is still in the box, to send again then."""
    for _ in range(20):
        checker.post("/verify", data={"text": "anything"})
    pasted = "Police say: everyone must leave the north side <now> & go to the stadium"
    limited = checker.post("/verify", data={"text": pasted})
    assert limited.status_code == 429 and "Too many checks" in limited.text
    assert limited.headers["cache-control"] == "no-store"
    box = re.search(r'<textarea id="verify-text"[^>]*>([^<]*)</textarea>', limited.text)
    assert box and html.unescape(box.group(1)) == pasted


def test_any_input_is_answered_quickly(checker: TestClient, record: dict[str, int]) -> None:
    hostile = ("Elm St evacuate " * 2000) + "PRELIMINARY: " * 500
    started = time.monotonic()
    answer = checker.post("/verify", data={"text": hostile})
    assert answer.status_code == 200 and time.monotonic() - started < 5


def test_chromium_shows_real_corrected_retracted_fake_and_rumored_texts(
    served: LiveServer, record: dict[str, int], page: Page
) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)

    def ask(text: str, name: str) -> Locator:
        page.goto(f"{served.url}/verify")
        page.fill("#verify-text", text)
        page.click("button[type=submit]")
        result = page.locator(".verify-result")
        expect(result).to_be_visible()
        assert page.url == f"{served.url}/verify", "nothing pasted ends up in the address"
        screenshot(page, f"verify-{name}")
        return result

    real = ask(f"PRELIMINARY: {REAL}", "real")
    expect(real.locator(".verdict--real")).to_contain_text("Published by us")
    expect(real.locator(".signature--ok")).to_contain_text("Signature verified")
    corrected = ask(WRONG, "corrected")
    expect(corrected.locator(".status--corrected")).to_contain_text("Only one direction is closed")
    expect(corrected.locator(".verify-text--current")).to_contain_text(FIXED)
    retracted = ask(WITHDRAWN, "retracted")
    expect(retracted.locator(".status--retracted")).to_contain_text("Issued for the wrong district")
    fake = ask("Police confirm the water is unsafe citywide.", "fake")
    expect(fake.locator(".verdict--fake")).to_contain_text("No update with this text was published here.")
    rumor = ask(f"Heard from a friend: {CLAIM}!!", "rumor")
    expect(rumor.locator(".verdict--rumor")).to_contain_text("This claim was answered by our rumor control.")
    expect(rumor.locator(".rumor__headline")).to_contain_text("RUMOR CONTROL: FALSE")
    assert problems == []
