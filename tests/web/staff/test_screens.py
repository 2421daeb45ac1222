"""The dashboard, delivery chips and retry, what a reviewer sees, accounts and tokens, headers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident, resolve_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.models import ApiToken, AuditEvent, Delivery, DeliveryState, EventType, User, utcnow
from tests.conftest import PIO
from tests.support.factories import bearer
from tests.web.staff.conftest import email_of, row_counts, sign_in, signin_form_token

HTMX = {"HX-Request": "true"}


@pytest.fixture
def record(db: Database, routing: Routing, people: dict[str, int]) -> int:
    """Two incidents (one resolved) and an update whose deliveries are in every state."""
    with db.write() as session:
        old, _ = create_incident(session, PIO, IncidentDraft(title="Old fire"), routing=routing)
        resolve_incident(session, PIO, old.slug, routing=routing)
        incident, _ = create_incident(
            session,
            PIO,
            IncidentDraft(title="Gas leak", location="Elm St", alert_status="exercise"),
            routing=routing,
        )
        result = publish_update(session, PIO, incident.slug, Draft(body="Evacuate Elm St."), routing=routing)
        event_id = result.event.event_id
        now = utcnow()
        routed = routing.channels_for(EventType.VERSION_PUBLISHED)
        for channel in ("x", "feeds"):  # chips for channels this deployment may not route
            if channel not in routed:
                session.add(
                    Delivery(
                        event_id=event_id,
                        channel=channel,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        session.flush()
        states = {
            "live": {"state": DeliveryState.SENT, "attempts": 1},
            "archive": {
                "state": DeliveryState.FAILED,
                "attempts": 25,
                "last_error": "could not write: disk full",
            },
            "x": {
                "state": DeliveryState.PENDING,
                "attempts": 2,
                "last_error": "HTTP 503 from api.x.com",
                "next_attempt_at": now + timedelta(seconds=30),
            },
            "feeds": {"state": DeliveryState.SKIPPED, "note": "preview: no credentials set"},
        }
        for channel, values in states.items():
            session.execute(
                update(Delivery)
                .where(Delivery.event_id == event_id, Delivery.channel == channel)
                .values(**values)
            )
        return result.update.id


def chip(page: str, channel: str) -> str:
    found = re.search(rf'<li class="chip[^"]*" data-channel="{channel}".*?</li>', page, re.S)
    assert found, f"no {channel} chip"
    return found.group(0)


def test_the_dashboard_lists_active_incidents_first_and_flags_failures(
    client: TestClient, record: int
) -> None:
    sign_in(client, email_of("reviewer"))
    page = client.get("/console").text
    assert page.index("Gas leak") < page.index("Old fire")
    row = re.search(
        r'<tr class="incident-row incident-row--active incident-row--failed" data-slug="gas-leak">.*?</tr>',
        page,
        re.S,
    )
    assert row, page
    assert "⚠ 1 failed" in row.group(0) and "EXERCISE" in row.group(0) and "1 update" in row.group(0)
    assert re.search(r'<time datetime="[^"]+">\d\d \w{3} \d\d:\d\d</time>', row.group(0))
    assert 'data-slug="old-fire"' in page and "No updates yet" in page
    assert 'id="create-incident"' not in page  # a reviewer creates nothing
    fragment = client.get("/console/incidents", headers=HTMX)
    assert fragment.text.lstrip().startswith('<section id="incident-list"') and "⚠ 1 failed" in fragment.text


def test_chips_show_every_channel_and_state_with_errors(client: TestClient, record: int) -> None:
    sign_in(client, email_of("pio"))
    page = client.get(f"/console/updates/{record}").text
    assert "sent" in chip(page, "live") and "Retry" not in chip(page, "live")
    failed = chip(page, "archive")
    assert (
        'data-state="failed"' in failed
        and "could not write: disk full" in failed
        and "after 25 attempts" in failed
    )
    assert 'action="/console/deliveries/' in failed and '<button type="submit">Retry</button>' in failed
    retrying = chip(page, "x")
    assert (
        'data-state="retrying"' in retrying
        and "HTTP 503 from api.x.com" in retrying
        and "next try" in retrying
    )
    assert "preview: no credentials set" in chip(page, "feeds")
    # the same chips, polled: out-of-band swaps of each event's group
    polled = client.get(f"/console/updates/{record}/deliveries?since=999", headers=HTMX).text
    assert re.search(r'<ul class="chips" id="chips-\d+" data-hx-swap-oob="true">', polled)
    assert 'data-hx-trigger="every 2s' in polled  # something is still in flight: poll fast


def test_a_failed_delivery_is_retried_from_its_chip(client: TestClient, db: Database, record: int) -> None:
    token = sign_in(client, email_of("pio"))
    with db.read() as session:
        failed = session.scalars(select(Delivery).where(Delivery.state == DeliveryState.FAILED)).one()
    response = client.post(
        f"/console/deliveries/{failed.id}/retry",
        data={"csrf_token": token, "next": f"/console/updates/{record}"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/updates/{record}?notice=retry_requested"
    with db.read() as session:
        assert session.get_one(Delivery, failed.id).state is DeliveryState.PENDING
    # The same person's double click: their request stands, nothing more is written.
    again = client.post(f"/console/deliveries/{failed.id}/retry", data={"csrf_token": token}, headers=HTMX)
    assert again.status_code == 204 and again.headers["HX-Trigger"] == "deliveries-changed"
    plain = client.post(
        f"/console/deliveries/{failed.id}/retry",
        data={"csrf_token": token, "next": f"/console/updates/{record}"},
        follow_redirects=False,
    )
    assert plain.headers["location"] == f"/console/updates/{record}?notice=retry_requested"
    with db.read() as session:
        asked = select(func.count()).where(AuditEvent.action == "delivery.retry_requested")
        assert session.scalar(asked) == 1
    # A colleague asking to retry what is no longer failed is told why.
    colleague = sign_in(client, email_of("admin"))
    refused = client.post(
        f"/console/deliveries/{failed.id}/retry", data={"csrf_token": colleague}, headers=HTMX
    )
    assert refused.status_code == 409 and refused.headers["HX-Retarget"] == "#flash"
    assert "only a failed one is retried" in refused.text
    token = sign_in(client, email_of("pio"))
    with db.write() as session:
        session.execute(update(Delivery).where(Delivery.id == failed.id).values(state=DeliveryState.FAILED))
    htmx = client.post(f"/console/deliveries/{failed.id}/retry", data={"csrf_token": token}, headers=HTMX)
    assert htmx.status_code == 204 and htmx.headers["HX-Trigger"] == "deliveries-changed"
    with db.write() as session:
        session.execute(update(Delivery).where(Delivery.id == failed.id).values(state=DeliveryState.FAILED))
    offsite = client.post(
        f"/console/deliveries/{failed.id}/retry",
        data={"csrf_token": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert offsite.headers["location"].startswith("/console?")  # never redirected off the console


def test_the_poll_says_when_a_colleague_published_something_new(
    client: TestClient, db: Database, routing: Routing, record: int
) -> None:
    sign_in(client, email_of("pio"))
    page = client.get("/console/incidents/gas-leak").text
    since = re.search(r"/console/incidents/gas-leak/deliveries\?since=(\d+)", page)
    assert since
    quiet = client.get(f"/console/incidents/gas-leak/deliveries?since={since.group(1)}", headers=HTMX).text
    assert "Something new was published" not in quiet
    with db.write() as session:
        publish_update(session, PIO, "gas-leak", Draft(body="All clear."), routing=routing)
    news = client.get(f"/console/incidents/gas-leak/deliveries?since={since.group(1)}", headers=HTMX).text
    assert "Something new was published on this incident since this page loaded" in news


def test_a_reviewer_reads_everything_and_is_offered_nothing_to_change(
    client: TestClient, record: int
) -> None:
    sign_in(client, email_of("reviewer"))
    incident = client.get("/console/incidents/gas-leak").text
    assert "Evacuate Elm St." in incident and "could not write: disk full" in incident
    assert 'id="compose"' not in incident and 'id="resolve"' not in incident and ">Retry<" not in incident
    page = client.get(f"/console/updates/{record}").text
    assert "Version 1: first version" in page and "By Test PIO" in page
    assert "<form" not in page.split("</header>", 1)[1]  # after the sign-out button in the header


def test_an_admin_creates_an_account_with_a_one_time_password(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    token = sign_in(client, email_of("admin"))
    form = {
        "email": "dana@example.org",
        "display_name": "Sgt. Dana Ortiz",
        "role": "pio",
        "csrf_token": token,
    }
    response = client.post("/console/admin/users", data=form)
    assert response.status_code == 201 and response.headers["cache-control"] == "no-store"
    password = re.search(r'<code class="secret__value" id="issued-password">([^<]+)</code>', response.text)
    assert password
    with db.read() as session:
        user = session.scalars(select(User).where(User.email == "dana@example.org")).one()
        assert user.must_change_password and user.display_name == "Sgt. Dana Ortiz"
    assert password.group(1) not in client.get("/console/admin").text  # shown once
    duplicate = client.post("/console/admin/users", data={**form, "display_name": "Someone"})
    assert duplicate.status_code == 422
    assert 'id="user-email-error"><strong>Email address</strong> already has an account' in duplicate.text
    assert 'value="Someone"' in duplicate.text  # what was typed stays

    second = TestClient(client.app)
    with second:
        second.post(
            "/login",
            data={
                "email": "dana@example.org",
                "password": password.group(1),
                "csrf_token": signin_form_token(second),
            },
        )
        assert second.get("/console", follow_redirects=False).headers["location"] == "/console/password"


def test_an_admin_issues_and_revokes_api_tokens(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    token = sign_in(client, email_of("admin"))
    issued = client.post(
        "/console/admin/tokens", data={"email": email_of("pio"), "name": "CAD", "csrf_token": token}
    )
    assert issued.status_code == 201
    secret = re.search(r'id="issued-token">(ick_[^<]+)</code>', issued.text)
    assert secret
    create = {"title": "Via API"}
    assert client.post("/api/v1/incidents", json=create, headers=bearer(secret.group(1))).status_code == 201
    with db.read() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    ask = client.post(f"/console/admin/tokens/{token_id}/revoke", data={"csrf_token": token}, headers=HTMX)
    assert ask.status_code == 200 and "Yes, revoke" in ask.text
    assert client.post("/api/v1/incidents", json=create, headers=bearer(secret.group(1))).status_code == 201
    done = client.post(
        f"/console/admin/tokens/{token_id}/revoke",
        data={"csrf_token": token, "confirmed": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.post("/api/v1/incidents", json=create, headers=bearer(secret.group(1))).status_code == 401
    assert "Revoked" in client.get("/console/admin").text
    again = client.post(
        f"/console/admin/tokens/{token_id}/revoke", data={"csrf_token": token, "confirmed": "yes"}
    )
    assert again.status_code == 409 and "already revoked" in again.text
    unknown = client.post("/console/admin/tokens", data={"email": "nobody@example.org", "csrf_token": token})
    assert unknown.status_code == 422 and "has no account" in unknown.text


def test_console_pages_carry_the_security_headers(client: TestClient, record: int) -> None:
    sign_in(client, email_of("pio"))
    for path in ("/login", "/console", "/console/incidents/gas-leak", f"/console/updates/{record}"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert headers["cache-control"] == "no-store"
    page = client.get("/console").text
    assert "<script>" not in page and " style=" not in page and "<style" not in page
    assert re.search(r'<body class="console" data-hx-headers=\'\{"X-CSRF-Token": "[0-9a-f]{64}"\}\'>', page)


def test_a_post_after_the_session_ended_shows_back_what_was_typed(
    client: TestClient, db: Database, record: int
) -> None:
    client.cookies.set("console_session", "expired-or-unknown")
    before = row_counts(db)
    response = client.post(
        "/console/incidents/gas-leak/updates",
        data={
            "headline": "Shelter",
            "body": "Stay indoors, close windows.",
            "step": "publish",
            "csrf_token": "x",
        },
        headers={"Referer": "http://testserver/console/incidents/gas-leak"},
    )
    assert response.status_code == 401
    assert "Nothing was published or saved" in response.text
    assert (
        '<textarea id="typed-body" readonly rows="4">Stay indoors, close windows.</textarea>' in response.text
    )
    assert '<textarea id="typed-headline" readonly rows="4">Shelter</textarea>' in response.text
    assert 'name="next" value="/console/incidents/gas-leak"' in response.text  # back there after signing in
    assert row_counts(db) == before


def test_a_paused_channel_shows_its_error_and_a_pio_resumes_it(
    console_client: TestClient, db: Database, people: dict[str, int]
) -> None:
    from console.domain import channel_health
    from console.domain.audit import verify_chain

    with db.write() as session:
        channel_health.mark_failing(session, "x", "401 Unauthorized: check X_API_KEY")
    sign_in(console_client, email_of("reviewer"))
    page = console_client.get("/console").text
    paused = re.search(r'<li class="channel channel--paused" data-channel="x">.*?</li>', page, re.S)
    assert (
        paused and "PAUSED since" in paused.group() and "401 Unauthorized: check X_API_KEY" in paused.group()
    )
    assert "Resume x" not in paused.group(), "a reviewer reads but cannot resume"

    console_client.cookies.clear()
    sign_in(console_client, email_of("pio"))
    page = console_client.get("/console").text
    assert "Resume x" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    resumed = console_client.post(
        "/console/channels/x/resume", data={"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert resumed.status_code == 303 and resumed.headers["location"] == "/console?notice=channel_resumed"
    with db.read() as session:
        assert not channel_health.is_paused(session, "x")
        assert verify_chain(session).ok
    again = console_client.post("/console/channels/x/resume", data={"csrf_token": token.group(1)})
    assert again.status_code == 409 and "not paused" in again.text
    assert "channel--paused" not in console_client.get("/console").text
