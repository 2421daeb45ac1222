"""Hostile text in every field, published through the API and the console's forms, read back
on every surface: every page, fragment, live frame, feed, CAP message, post preview, export and
console screen keeps it inert (see `tests/security/inert.py`) and shows it as typed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import accounts, wording
from console.domain.actors import OPERATOR
from console.models import Update, UpdateVersion
from console.settings import Settings
from console.social.compose import posts_for
from console.social.mastodon_api import rules_for
from console.social.x_api import X_RULES
from tests.archive.support import deliver_everything
from tests.security.inert import (
    LINE,
    NAME,
    SCRIPT_MARK,
    TEXT,
    check_csv,
    check_fragment,
    check_html,
    check_json,
    check_xml,
    words,
)
from tests.social.conftest import assert_whole
from tests.support.factories import bearer, make_user
from tests.web.staff.conftest import email_of, sign_in

HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Hostile:
    api_slug: str  # published through the API by a token whose owner is named NAME
    form_slug: str  # published through the console's forms by a PIO named NAME
    update_ids: list[int]


def created_slug(response_location: str) -> str:
    found = re.match(r"/console/incidents/([a-z0-9-]+)", response_location)
    assert found, response_location
    return found.group(1)


@pytest.fixture
def hostile(client: TestClient, db: Database, settings: Settings) -> Hostile:
    make_user(db, "admin", email_of("admin"), "Admin Person")
    make_user(db, "pio", email_of("pio"), NAME)
    with db.write() as session:
        token = accounts.create_token(session, OPERATOR, email=email_of("pio"), name=NAME).secret
    pio = bearer(token)

    # Through the API.
    created = client.post(
        "/api/v1/incidents", json={"title": LINE, "summary": TEXT, "location": LINE}, headers=pio
    )
    assert created.status_code == 201, created.text
    api_slug = created.json()["slug"]
    first = client.post(
        f"/api/v1/incidents/{api_slug}/updates", json={"headline": LINE, "body": TEXT}, headers=pio
    )
    assert first.status_code == 201, first.text
    corrected = client.post(
        f"/api/v1/updates/{first.json()['id']}/corrections",
        json={"headline": LINE, "body": TEXT + "\n" + LINE, "reason": TEXT, "corrects_version": 1},
        headers=pio,
    )
    assert corrected.status_code == 201, corrected.text
    second = client.post(f"/api/v1/incidents/{api_slug}/updates", json={"body": TEXT}, headers=pio)
    retracted = client.post(
        f"/api/v1/updates/{second.json()['id']}/retraction",
        json={"reason": TEXT, "corrects_version": 1},
        headers=pio,
    )
    assert retracted.status_code == 201, retracted.text

    # Through the console's forms, JavaScript off.
    csrf = sign_in(client, email_of("pio"))
    made = client.post(
        "/console/incidents",
        data={"title": LINE, "summary": TEXT, "location": LINE, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    form_slug = created_slug(made.headers["location"])
    posted = client.post(
        f"/console/incidents/{form_slug}/updates",
        data={"headline": LINE, "body": TEXT, "step": "publish", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    with db.read() as session:
        form_update = session.scalars(select(Update.id).order_by(Update.id.desc())).first()
    assert form_update is not None
    fixed = client.post(
        f"/console/updates/{form_update}/corrections",
        data={
            "headline": LINE,
            "body": TEXT + "\nfixed",
            "reason": TEXT,
            "corrects_version": "1",
            "step": "publish",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert fixed.status_code == 303, fixed.text

    csrf = sign_in(client, email_of("admin"))
    person = client.post(
        "/console/admin/users",
        data={"email": "hostile@example.org", "display_name": NAME, "role": "reviewer", "csrf_token": csrf},
    )
    assert person.status_code in (200, 201), person.text
    issued = client.post(
        "/console/admin/tokens", data={"email": "hostile@example.org", "name": NAME, "csrf_token": csrf}
    )
    assert issued.status_code in (200, 201), issued.text
    deliver_everything(settings, db)
    with db.read() as session:
        ids = list(session.scalars(select(Update.id).order_by(Update.id)))
    return Hostile(api_slug, form_slug, ids)


def test_public_pages_fragments_and_archive_keep_it_inert(client: TestClient, hostile: Hostile) -> None:
    client.cookies.clear()
    for slug in (hostile.api_slug, hostile.form_slug):
        check_html(client.get(f"/incidents/{slug}").text, f"/incidents/{slug}", shows=[LINE, TEXT])
        history = client.get(f"/incidents/{slug}/history").text
        check_html(history, f"/incidents/{slug}/history", shows=[LINE, TEXT, NAME])
    check_html(client.get("/").text, "/", shows=[LINE])
    check_html(client.get("/archive").text, "/archive", shows=[LINE])
    check_html(client.get("/corrections").text, "/corrections", shows=[TEXT])
    searched = client.get(f"/archive?q={quote('alert')}")
    check_html(searched.text, "/archive?q=", shows=[LINE])
    fragment = client.get(f"/archive?q={quote(LINE)}", headers=HTMX)
    assert fragment.status_code == 200
    check_fragment(fragment.text, "/archive fragment")
    # The query itself is echoed back inert too.
    for query in (LINE, TEXT):  # TEXT has line breaks: refused with a message, still inert
        echoed = client.get(f"/archive?q={quote(query)}")
        assert echoed.status_code in (200, 400), echoed.status_code
        check_html(echoed.text, "/archive?q=")


def test_live_frames_keep_it_inert(client: TestClient, hostile: Hostile) -> None:
    for path in (f"/live?incident={hostile.api_slug}", "/live"):
        with client.websocket_connect(path) as socket:
            socket.send_json({"last_event_id": 0})
            frame = socket.receive_text()
            text = check_fragment(frame, f"{path} frame")
            assert words(LINE) in text


def test_feeds_and_cap_stay_well_formed_and_inert(client: TestClient, db: Database, hostile: Hostile) -> None:
    for path in ("/feeds/updates.atom", "/feeds/updates.rss", "/feeds/cap.atom"):
        response = client.get(path)
        assert response.status_code == 200, path
        check_xml(response.content, path, shows=[LINE])
    for slug in (hostile.api_slug, hostile.form_slug):
        for kind in ("atom", "rss"):
            path = f"/incidents/{slug}/feed.{kind}"
            check_xml(client.get(path).content, path, shows=[LINE])
    with db.read() as session:
        versions = session.execute(
            select(Update.incident_id, Update.seq, UpdateVersion.version).join(UpdateVersion)
        ).all()
    assert len(versions) >= 5
    slugs = {1: hostile.api_slug, 2: hostile.form_slug}
    for incident_id, seq, version in versions:
        path = f"/incidents/{slugs[incident_id]}/cap/{seq}-{version}.xml"
        response = client.get(path)
        assert response.status_code == 200, path
        alert = check_xml(response.content, path, shows=[TEXT.splitlines()[0]])
        assert alert.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"


def test_exports_round_trip_and_no_csv_cell_is_a_formula(client: TestClient, hostile: Hostile) -> None:
    for slug in (hostile.api_slug, hostile.form_slug):
        record = check_json(client.get(f"/incidents/{slug}.json").text, f"{slug}.json", shows=[LINE, TEXT])
        assert record["title"] == LINE
        check_csv(client.get(f"/incidents/{slug}/history.csv").text, f"{slug}/history.csv", shows=[TEXT])
    for line in client.get("/archive.jsonl").text.splitlines():
        check_json(line, "archive.jsonl", shows=[LINE])
    api = client.get(f"/api/v1/incidents/{hostile.api_slug}")
    check_json(api.text, "GET /api/v1/incidents/{slug}", shows=[LINE, TEXT, NAME])


def test_post_previews_are_the_text_as_typed(
    client: TestClient, db: Database, settings: Settings, hostile: Hostile
) -> None:
    """Posts are plain text: the networks show them as text, so the text is sent as typed,
    neither escaped (which would show `&lt;`) nor stripped; the console shows it inert."""
    with db.read() as session:
        version = session.scalars(select(UpdateVersion).order_by(UpdateVersion.id)).first()
        assert version is not None
        update = session.get_one(Update, version.update_id)
        for rules in (X_RULES, rules_for(500, 23)):
            posts = posts_for(
                version, update.incident, update.seq, settings.public_url, rules, first_kind=version.kind
            )
            assert any(SCRIPT_MARK in post for post in posts)
            typed = f"{version.headline} — {version.body}" if version.headline else version.body
            label = wording.prefix(version.kind, version.preliminary, update.incident.alert_status)
            link = wording.update_url(settings.public_url, update.incident.slug, update.seq)
            assert_whole(posts, label, typed, link)  # every character as typed, in order
    csrf = sign_in(client, email_of("pio"))
    preview = client.post(
        f"/console/incidents/{hostile.api_slug}/preview",
        data={"headline": LINE, "body": TEXT, "csrf_token": csrf},
        headers=HTMX,
    )
    assert preview.status_code == 200
    text = check_fragment(preview.text, "compose preview")
    assert SCRIPT_MARK in text
    correction = client.post(
        f"/console/updates/{hostile.update_ids[0]}/preview",
        data={"headline": LINE, "body": TEXT + " more", "reason": TEXT, "csrf_token": csrf},
        headers=HTMX,
    )
    assert correction.status_code == 200
    check_fragment(correction.text, "correction preview")


def test_console_screens_and_audit_keep_it_inert(client: TestClient, hostile: Hostile) -> None:
    sign_in(client, email_of("admin"))
    screens = [
        "/console",
        "/console/incidents",
        f"/console/incidents/{hostile.api_slug}",
        f"/console/incidents/{hostile.form_slug}",
        *(f"/console/updates/{update_id}" for update_id in hostile.update_ids),
        "/console/admin",
        "/console/audit",
    ]
    for path in screens:
        response = client.get(path)
        assert response.status_code == 200, path
        check_html(response.text, path, shows=[NAME])
    for path in (f"/console/incidents/{hostile.api_slug}/deliveries", "/console/incidents"):
        check_fragment(client.get(path, headers=HTMX).text, f"{path} fragment")
    check_html(client.get(f"/console/audit?actor={quote(NAME)}").text, "/console/audit?actor=", shows=[NAME])
    check_csv(client.get("/console/audit.csv").text, "/console/audit.csv", shows=[NAME])
