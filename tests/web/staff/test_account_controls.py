"""Admins shut an account off (issue 14, point 6): sessions end, tokens stop, sign-in is refused."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.models import AuditEvent, Role, User
from console.settings import Settings
from tests.support.factories import PASSWORD, bearer, make_token
from tests.web.staff.conftest import csrf_of, email_of, sign_in, signin_form_token, start_session, use_session


def _actions(db: Database, prefix: str) -> list[str]:
    with db.read() as session:
        return [
            e.action
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            if e.action.startswith(prefix) and e.action != "user.created"
        ]


def test_an_admin_disables_an_account_its_sessions_and_tokens_end_at_once(
    client: TestClient, console_client: TestClient, db: Database, people: dict[str, int]
) -> None:
    stolen = start_session(db, people["pio"])
    token = make_token(db, "pio", email="pio-bot@example.org")
    with db.read() as session:
        bot = session.scalars(select(User).where(User.email == "pio-bot@example.org")).one()
    use_session(console_client, stolen)
    assert console_client.get("/console", follow_redirects=False).status_code == 200
    assert client.get("/api/v1/channels", headers=bearer(token)).status_code == 200

    csrf = sign_in(client, email_of("admin"))
    for user_id in (people["pio"], bot.id):
        response = client.post(
            f"/console/admin/users/{user_id}/disable",
            data={"csrf_token": csrf, "confirmed": "yes"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    assert console_client.get("/console", follow_redirects=False).status_code == 303  # signed out
    assert client.get("/api/v1/channels", headers=bearer(token)).status_code == 401
    assert "Disabled" in client.get("/console/admin").text
    refused = console_client.post(
        "/login",
        data={
            "email": email_of("pio"),
            "password": PASSWORD,
            "csrf_token": signin_form_token(console_client),
        },
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert _actions(db, "user.") == ["user.disabled", "user.disabled"]


def test_enable_and_set_role_are_audited_and_take_effect(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    csrf = sign_in(client, email_of("admin"))
    pio = people["pio"]
    asked = client.post(f"/console/admin/users/{pio}/disable", data={"csrf_token": csrf})
    assert asked.status_code == 200 and "Yes, disable" in asked.text  # asks first; nothing done yet
    client.post(f"/console/admin/users/{pio}/disable", data={"csrf_token": csrf, "confirmed": "yes"})
    assert (
        client.post(
            f"/console/admin/users/{pio}/enable",
            data={"csrf_token": csrf, "confirmed": "yes"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"/console/admin/users/{pio}/role",
            data={"csrf_token": csrf, "role": "reviewer"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    with db.read() as session:
        user = session.get_one(User, pio)
        assert user.disabled_at is None and user.role is Role.REVIEWER
    assert _actions(db, "user.") == ["user.disabled", "user.enabled", "user.role_changed"]
    assert (
        client.post(
            f"/console/admin/users/{pio}/role", data={"csrf_token": csrf, "role": "chief"}
        ).status_code
        == 422
    )
    # The admin cannot shut themselves out, nor leave the console without an enabled admin.
    assert (
        client.post(
            f"/console/admin/users/{people['admin']}/disable", data={"csrf_token": csrf, "confirmed": "yes"}
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/console/admin/users/{people['admin']}/role", data={"csrf_token": csrf, "role": "pio"}
        ).status_code
        == 409
    )


def test_only_admins_may_disable(client: TestClient, db: Database, people: dict[str, int]) -> None:
    csrf = sign_in(client, email_of("pio"))
    response = client.post(
        f"/console/admin/users/{people['reviewer']}/disable", data={"csrf_token": csrf, "confirmed": "yes"}
    )
    assert response.status_code == 403
    assert _actions(db, "user.disabled") == []


def test_a_person_ends_their_other_sessions(
    client: TestClient, console_client: TestClient, db: Database, people: dict[str, int]
) -> None:
    elsewhere = start_session(db, people["pio"])
    use_session(console_client, elsewhere)
    csrf = sign_in(client, email_of("pio"))
    response = client.post(
        "/console/sessions/end-others", data={"csrf_token": csrf, "confirmed": "yes"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert console_client.get("/console", follow_redirects=False).status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 200
    assert csrf_of(client) == csrf
    assert _actions(db, "sessions.") == ["sessions.ended"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    return settings


def test_cli_disable_enable_set_role(
    env: Settings,
    db: Database,
    people: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session_id = start_session(db, people["pio"])
    assert main(["users", "disable", "--email", email_of("pio")]) == 0
    assert "disabled pio@example.org" in capsys.readouterr().out
    from console.domain import sessions
    from console.models import utcnow

    with db.read() as session:
        assert sessions.resume(session, session_id, now=utcnow()) is None
    assert main(["users", "disable", "--email", email_of("pio")]) == 1
    assert main(["users", "enable", "--email", email_of("pio")]) == 0
    assert main(["users", "set-role", "--email", email_of("pio"), "--role", "admin"]) == 0
    assert "is now admin" in capsys.readouterr().out
    assert main(["users", "disable", "--email", "nobody@example.org"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert _actions(db, "user.") == ["user.disabled", "user.enabled", "user.role_changed"]
