"""Sign-in, sessions and lockout, with the app's clock moved by the test (never slept)."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlalchemy import select
from starlette.testclient import TestClient

from console.cli import ensure_first_admin
from console.db import Database
from console.domain import sessions
from console.domain.signin import ACCOUNT_MAX_FAILURES, ADDRESS_MAX_FAILURES
from console.models import AuditEvent, ConsoleSession
from console.settings import Settings
from console.web.app import create_app
from tests.support.factories import PASSWORD
from tests.web.staff.conftest import (
    FakeClock,
    email_of,
    row_counts,
    sign_in,
    signin_form_token,
    state_of,
    use_session,
)

SIGNIN_FLOOD = 58  # under the 60 a minute an address may try


def attempt(client: TestClient, email: str, password: str) -> tuple[int, str]:
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": signin_form_token(client)},
        follow_redirects=False,
    )
    return response.status_code, response.text


def message(page: str) -> str:
    found = re.search(r'<p class="form-error" role="alert">(.*?)</p>', page, re.S)
    assert found, page
    return found.group(1)


def audit_actions(db: Database, prefix: str) -> list[str]:
    with db.read() as session:
        query = select(AuditEvent.action).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.seq)
        return list(session.scalars(query))


def test_sign_in_sets_a_new_server_side_session(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    use_session(client, "planted-by-someone-else")
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"email": "PIO@example.org ", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session_id = client.cookies["console_session"]
    assert session_id != "planted-by-someone-else" and len(session_id) >= 43
    with db.read() as session:
        stored = list(session.scalars(select(ConsoleSession.id_hash)))
    assert stored == [sessions.digest(session_id)]  # only the hash is kept, never the id
    assert client.get("/console").status_code == 200

    first = session_id
    sign_in(client, email_of("pio"))  # again: another new id, and the old one is gone
    assert client.cookies["console_session"] != first
    use_session(client, first)
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_cookies_are_secure_when_the_public_url_is_https(settings: Settings, people: dict[str, int]) -> None:
    secure = replace(settings, public_url="https://console.example.org")
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        page = client.get("/login")
        assert (
            "__Host-console_signin=" in page.headers["set-cookie"] and "Secure" in page.headers["set-cookie"]
        )
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        response = client.post(
            "/login",
            data={"email": email_of("admin"), "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        cookie = next(c for c in response.headers.get_list("set-cookie") if "console_session" in c)
        assert cookie.startswith("__Host-console_session=")
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"))
        assert client.get("/console").status_code == 200


def test_wrong_password_and_unknown_account_read_the_same(client: TestClient, people: dict[str, int]) -> None:
    known = attempt(client, email_of("pio"), "not the password")
    unknown = attempt(client, "nobody@example.org", "not the password")
    assert known[0] == unknown[0] == 400
    assert (
        message(known[1])
        == message(unknown[1])
        == "The email or password is not right. Check both and try again."
    )
    assert 'value="pio@example.org"' in known[1]  # the email typed is kept, the password is not
    assert "not the password" not in known[1]


def test_lockout_after_ten_failures_refuses_even_the_right_password(
    client: TestClient, db: Database, people: dict[str, int], clock: FakeClock
) -> None:
    for _ in range(ACCOUNT_MAX_FAILURES):
        assert attempt(client, email_of("pio"), "wrong password")[0] == 400
        clock.advance(seconds=30)
    status, page = attempt(client, email_of("pio"), PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins for this email address" in message(page)
    assert "even with the right password" in message(page)
    assert "console_session" not in client.cookies
    # Another account is not affected.
    assert attempt(client, email_of("reviewer"), PASSWORD)[0] == 303
    client.cookies.clear()
    # Still refused just before 15 minutes after the tenth failure; signed in after.
    clock.advance(minutes=14, seconds=29)
    assert attempt(client, email_of("pio"), PASSWORD)[0] == 429
    clock.advance(seconds=2)
    assert attempt(client, email_of("pio"), PASSWORD)[0] == 303
    actions = audit_actions(db, "signin.")
    assert actions.count("signin.failed") == ACCOUNT_MAX_FAILURES
    assert actions.count("signin.refused") == 1  # one per lockout, however many are refused
    assert actions.count("signin.succeeded") == 2


def test_lockout_does_not_reveal_whether_an_account_exists(
    client: TestClient, people: dict[str, int], clock: FakeClock
) -> None:
    for email in (email_of("pio"), "nobody@example.org"):
        for _ in range(ACCOUNT_MAX_FAILURES):
            attempt(client, email, "wrong password")
    known = attempt(client, email_of("pio"), "wrong password")
    unknown = attempt(client, "nobody@example.org", "wrong password")
    assert known[0] == unknown[0] == 429
    assert message(known[1]) == message(unknown[1])


def test_a_successful_sign_in_clears_the_failures(
    client: TestClient, people: dict[str, int], clock: FakeClock
) -> None:
    for _ in range(ACCOUNT_MAX_FAILURES - 1):
        attempt(client, email_of("pio"), "wrong password")
    assert attempt(client, email_of("pio"), PASSWORD)[0] == 303
    client.cookies.clear()
    for _ in range(ACCOUNT_MAX_FAILURES - 1):
        assert attempt(client, email_of("pio"), "wrong password")[0] == 400


def test_one_address_is_limited_across_accounts(
    client: TestClient, db: Database, people: dict[str, int], clock: FakeClock
) -> None:
    per_account = ACCOUNT_MAX_FAILURES // 2
    for n in range(ADDRESS_MAX_FAILURES // per_account):
        for _ in range(per_account):
            assert attempt(client, f"guess{n}@example.org", "wrong password")[0] == 400
    status, page = attempt(client, email_of("admin"), PASSWORD)
    assert status == 429 and "from your network" in message(page)
    assert audit_actions(db, "signin.refused") == ["signin.refused"]
    clock.advance(minutes=15, seconds=1)
    assert attempt(client, email_of("admin"), PASSWORD)[0] == 303


def test_every_attempt_is_audited_without_keeping_a_mistyped_password(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    attempt(client, email_of("pio"), "wrong password")
    attempt(client, "my secret password", "oops")  # a password typed into the email field
    assert attempt(client, email_of("pio"), "")[0] == 400  # a blank password fails like a wrong one
    status, page = attempt(client, "  ", PASSWORD)  # no email: not an attempt on any account
    assert status == 400 and message(page) == "Enter both your email address and your password."
    attempt(client, email_of("pio"), PASSWORD)
    with db.read() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action.like("signin.%"))))
    assert [e.action for e in events] == [
        "signin.failed",
        "signin.failed",
        "signin.failed",
        "signin.succeeded",
    ]
    assert '"email":"pio@example.org"' in events[0].data
    assert "my secret password" not in events[1].data and '"email":null' in events[1].data
    assert events[3].actor_user_id == people["pio"]


def test_the_sign_in_form_needs_its_token(client: TestClient, db: Database, people: dict[str, int]) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": email_of("pio"), "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "console_session" not in client.cookies
    assert audit_actions(db, "signin.") == []
    token = signin_form_token(client)
    response = client.post(
        "/login",
        data={"email": email_of("pio"), "password": PASSWORD, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_idle_sessions_end_after_thirty_minutes(
    client: TestClient, people: dict[str, int], clock: FakeClock
) -> None:
    sign_in(client, email_of("pio"))
    clock.advance(minutes=29)
    assert client.get("/console").status_code == 200  # activity: the idle timer starts again
    clock.advance(minutes=29)
    assert client.get("/console").status_code == 200
    clock.advance(minutes=30, seconds=1)
    response = client.get("/console/incidents", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/console/incidents&expired=1"
    assert "Your session ended" in client.get(response.headers["location"]).text


def test_polling_does_not_keep_a_session_alive(
    client: TestClient, db: Database, people: dict[str, int], clock: FakeClock
) -> None:
    sign_in(client, email_of("pio"))
    for _ in range(3):
        clock.advance(minutes=9)
        assert client.get("/console/incidents", headers={"HX-Request": "true"}).status_code == 200
    clock.advance(minutes=3, seconds=1)  # 30 minutes after the last thing the person did
    response = client.get("/console/incidents", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Retarget"] == "#flash"
    assert "Your session has ended" in response.text
    # The answer cleared the cookie; the page's next request (an autosave, a poll) comes
    # without one, and must not turn the message into "Sign in to use the console".
    assert "console_session" not in client.cookies
    again = client.post("/console/incidents", headers={"HX-Request": "true"})
    assert again.status_code == 401 and "Your session has ended" in again.text


def test_sessions_end_twelve_hours_after_sign_in_even_when_active(
    client: TestClient, people: dict[str, int], clock: FakeClock
) -> None:
    sign_in(client, email_of("pio"))
    for _ in range(35):
        clock.advance(minutes=20)
        assert client.get("/console").status_code == 200
    clock.advance(minutes=20, seconds=1)  # 12 h and 1 s after sign-in
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    token = sign_in(client, email_of("pio"))
    session_id = client.cookies["console_session"]
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?signed_out=1"
    with db.read() as session:
        assert session.scalars(select(ConsoleSession)).all() == []
    use_session(client, session_id)  # a copied cookie is worthless now
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert audit_actions(db, "signout") == ["signout"]


def test_the_first_admin_must_choose_a_password(client: TestClient, db: Database, settings: Settings) -> None:
    one_time = ensure_first_admin(db, settings)
    assert one_time is not None
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={"email": settings.admin_email, "password": one_time, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/password"
    csrf = sessions.csrf_token(client.cookies["console_session"])
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/password"
    assert client.get("/console/admin", follow_redirects=False).headers["location"] == "/console/password"
    assert "one-time password" in client.get("/console/password").text

    mismatch = client.post(
        "/console/password",
        data={
            "csrf_token": csrf,
            "current_password": one_time,
            "new_password": "a" * 12,
            "new_password_again": "b" * 12,
        },
    )
    assert mismatch.status_code == 422 and "does not match the new password" in mismatch.text
    same = client.post(
        "/console/password",
        data={
            "csrf_token": csrf,
            "current_password": one_time,
            "new_password": one_time,
            "new_password_again": one_time,
        },
    )
    assert same.status_code == 422 and "must differ from the current password" in same.text

    old_session = client.cookies["console_session"]
    new_password = "long enough new passphrase"
    response = client.post(
        "/console/password",
        data={
            "csrf_token": csrf,
            "current_password": one_time,
            "new_password": new_password,
            "new_password_again": new_password,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console?notice=password_changed"
    assert client.cookies["console_session"] != old_session  # a fresh session, the old one ended
    assert client.get("/console").status_code == 200
    client.cookies.clear()
    assert attempt(client, settings.admin_email, one_time)[0] == 400
    assert attempt(client, settings.admin_email, new_password)[0] == 303


def test_a_flood_of_refused_sign_ins_writes_a_bounded_amount(
    client: TestClient, db: Database, people: dict[str, int], clock: FakeClock
) -> None:
    """Issue 14, point 4: past the lockouts, refused attempts are answered from memory, before
    any write; the permanent audit trail gets one `signin.refused` per lockout with a count."""
    answers = [
        attempt(client, f"guess{n % 40}@example.org", "wrong password")[0] for n in range(SIGNIN_FLOOD)
    ]
    assert (
        answers.count(400) == ADDRESS_MAX_FAILURES
        and answers.count(429) == SIGNIN_FLOOD - ADDRESS_MAX_FAILURES
    )
    counts = row_counts(db)
    actions = audit_actions(db, "signin.")
    assert actions.count("signin.failed") == ADDRESS_MAX_FAILURES
    assert actions.count("signin.refused") == 1
    assert counts["signin_attempts"] == ADDRESS_MAX_FAILURES + 1
    for _ in range(20):  # more of the flood changes nothing at all
        assert attempt(client, email_of("pio"), PASSWORD)[0] == 429
    assert row_counts(db) == counts
    with db.read() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "signin.refused")).one()
    assert '"failures":50' in refused.data and '"scope":"address"' in refused.data


def test_too_many_attempts_a_minute_from_one_address_are_refused_before_any_write(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    state_of(client).signin_limit.limit = 5
    for _ in range(5):
        assert attempt(client, email_of("pio"), PASSWORD)[0] == 303
        client.cookies.clear()
    counts = row_counts(db)
    assert attempt(client, email_of("pio"), PASSWORD)[0] == 429
    assert row_counts(db) == counts


def test_a_failure_for_an_unknown_account_keeps_no_typed_text(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    typed = "correct-horse@battery.staple"  # a password that looks like an address
    attempt(client, typed, "x")
    with db.engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ("audit_events", "signin_attempts")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )
    assert typed not in dump and "correct-horse" not in dump
