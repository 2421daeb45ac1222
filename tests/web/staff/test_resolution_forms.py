"""The incident screen's resolve (with an all-clear) and reopen forms (issue 13.4)."""

from __future__ import annotations

from dataclasses import replace

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident, get_incident
from console.domain.outbox import Routing
from console.models import IncidentStatus, PendingVersion, Translation, UpdateVersion, VersionKind
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.web.staff.conftest import email_of, sent_fields, sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        return created.slug


def kinds(db: Database) -> list[tuple[VersionKind, str]]:
    with db.read() as session:
        return [(v.kind, v.body) for v in session.scalars(select(UpdateVersion).order_by(UpdateVersion.id))]


def status(db: Database, slug: str) -> IncidentStatus:
    with db.read() as session:
        return get_incident(session, slug).status


def test_resolving_publishes_the_all_clear_and_reopening_the_reason(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    blank = client.post(
        f"/console/incidents/{incident}/resolve",
        data={"csrf_token": token, "confirmed": "yes", "message": " "},
        headers=HTMX,
    )
    assert blank.status_code == 422 and 'aria-invalid="true"' in blank.text
    assert status(db, incident) is IncidentStatus.ACTIVE and kinds(db) == []
    done = client.post(
        f"/console/incidents/{incident}/resolve",
        data={"csrf_token": token, "confirmed": "yes", "message": "All clear: the leak is fixed."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert kinds(db) == [(VersionKind.RESOLUTION, "All clear: the leak is fixed.")]
    page = client.get(done.headers["location"]).text
    assert "the all-clear is going out on every channel" in page and "Reopen incident" in page
    assert "RESOLVED" in page

    no_reason = client.post(f"/console/incidents/{incident}/reopen", data={"csrf_token": token}, headers=HTMX)
    assert no_reason.status_code == 422 and status(db, incident) is IncidentStatus.RESOLVED
    reopened = client.post(
        f"/console/incidents/{incident}/reopen",
        data={"csrf_token": token, "reason": "A second leak on Oak St."},
        follow_redirects=False,
    )
    assert reopened.status_code == 303 and status(db, incident) is IncidentStatus.ACTIVE
    assert kinds(db)[-1] == (VersionKind.REOPENING, "A second leak on Oak St.")
    again = client.post(
        f"/console/incidents/{incident}/reopen", data={"csrf_token": token, "reason": "Again"}, headers=HTMX
    )
    assert again.status_code == 409 and "is not resolved" in again.text


def test_a_reviewer_may_not_resolve_or_reopen(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("reviewer"))
    for action in ("resolve", "reopen"):
        response = client.post(
            f"/console/incidents/{incident}/{action}",
            data={"csrf_token": token, "confirmed": "yes", "message": "All clear", "reason": "x"},
        )
        assert response.status_code == 403
    assert status(db, incident) is IncidentStatus.ACTIVE


def test_the_all_clear_goes_out_with_its_translations(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    ask = client.post(f"/console/incidents/{incident}/resolve", data={"csrf_token": token}, headers=HTMX)
    assert 'id="resolve-tr-es-body"' in ask.text
    done = client.post(
        f"/console/incidents/{incident}/resolve",
        data={
            "csrf_token": token,
            "confirmed": "yes",
            "message": "All clear: return home.",
            "tr-es-body": "Todo despejado: regrese a casa.",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.read() as session:
        [translation] = session.scalars(select(Translation)).all()
        assert (translation.lang, translation.body) == ("es", "Todo despejado: regrese a casa.")


def test_resolving_after_a_colleague_did_answers_in_the_resolve_panel_with_the_text_kept(
    client: TestClient, console_client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    ask = client.post(f"/console/incidents/{incident}/resolve", data={"csrf_token": token}, headers=HTMX)
    assert 'id="resolve-message"' in ask.text
    colleague = sign_in(console_client, email_of("admin"))
    first = console_client.post(
        f"/console/incidents/{incident}/resolve",
        data={"csrf_token": colleague, "confirmed": "yes", "message": "All clear: the leak is fixed."},
        follow_redirects=False,
    )
    assert first.status_code == 303
    mine = {
        "csrf_token": token,
        "confirmed": "yes",
        "message": "All clear: Elm St is open again.",
        "tr-es-body": "Todo despejado: Elm St está abierta.",
    }
    late = client.post(f"/console/incidents/{incident}/resolve", data=mine, headers=HTMX)
    assert late.status_code == 409
    assert "<html" not in late.text and "<nav" not in late.text
    tree = lxml.html.fragment_fromstring(late.text.strip())
    assert tree.get("id") == "resolve"  # the resolve block alone, swapped in place
    [message] = tree.xpath("//*[@role='alert']")
    said = " ".join(message.text_content().split())
    assert "already resolved" in said and "Admin Person" in said and "Nothing was published" in said
    assert tree.xpath("//textarea[@id='resolve-message']")[0].text == mine["message"]
    assert tree.xpath("//textarea[@id='resolve-tr-es-body']")[0].text == mine["tr-es-body"]
    assert not tree.xpath("//button[@type='submit']")  # resolving again cannot work
    assert kinds(db) == [(VersionKind.RESOLUTION, "All clear: the leak is fixed.")]

    page = client.post(f"/console/incidents/{incident}/resolve", data=mine)  # without JavaScript
    assert page.status_code == 409
    tree = lxml.html.fromstring(page.text)
    assert tree.xpath("//*[@id='reopen']")  # the whole screen, as it is now
    [message] = tree.xpath("//*[@id='resolve']//*[@role='alert']")
    assert "Admin Person" in message.text_content()
    assert tree.xpath("//textarea[@id='resolve-message']")[0].text == "All clear: Elm St is open again."


def _resolve_step(client: TestClient, slug: str, token: str) -> dict[str, str]:
    """What "Publish the all-clear and resolve" sends, as the resolve step filled it in."""
    ask = client.post(f"/console/incidents/{slug}/resolve", data={"csrf_token": token}, headers=HTMX)
    [form] = lxml.html.fragment_fromstring(ask.text.strip()).xpath("//form")
    return {**sent_fields(form), "message": "All clear: the leak is fixed."}


def test_the_all_clear_clicked_twice_lands_on_the_resolved_incident(
    client: TestClient, db: Database, incident: str
) -> None:
    sent = _resolve_step(client, incident, sign_in(client, email_of("pio")))
    first = client.post(f"/console/incidents/{incident}/resolve", data=sent, follow_redirects=False)
    second = client.post(f"/console/incidents/{incident}/resolve", data=sent, follow_redirects=False)
    # Not "Nothing was published: … resolved it while you were writing": it was this click.
    assert (first.status_code, second.status_code) == (303, 303), second.text
    assert (
        second.headers["location"]
        == first.headers["location"]
        == f"/console/incidents/{incident}?notice=resolved"
    )
    assert kinds(db) == [(VersionKind.RESOLUTION, "All clear: the leak is fixed.")]


def test_an_all_clear_sent_for_approval_twice_waits_once(
    settings: Settings, db: Database, incident: str
) -> None:
    with TestClient(create_app(replace(settings, approval_required=APPROVAL_KINDS))) as client:
        sent = _resolve_step(client, incident, sign_in(client, email_of("pio")))
        first = client.post(f"/console/incidents/{incident}/resolve", data=sent, follow_redirects=False)
        second = client.post(f"/console/incidents/{incident}/resolve", data=sent, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["location"] == f"/console/incidents/{incident}?notice=pending_approval"
    with db.read() as session:  # one all-clear for approvers to check, one email each
        assert session.scalars(select(PendingVersion.body)).all() == ["All clear: the leak is fixed."]
