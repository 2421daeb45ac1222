"""Issue 14, point 6: an optional TOTP second factor (RFC 6238) with recovery codes, required
for admins when MFA_REQUIRED=true."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pyotp
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.models import AuditEvent, User
from console.settings import Settings
from console.web.app import create_app
from tests.support.factories import PASSWORD
from tests.web.staff.conftest import email_of, sign_in, signin_form_token

SECRET = re.compile(r'name="secret" value="([A-Z2-7]+)"')
RECOVERY = re.compile(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>")


def turn_on(client: TestClient, csrf: str) -> tuple[str, list[str]]:
    page = client.get("/console/mfa")
    assert page.status_code == 200 and "otpauth://totp/" in page.text
    match = SECRET.search(page.text)
    assert match
    secret = match.group(1)
    wrong = client.post("/console/mfa", data={"csrf_token": csrf, "secret": secret, "code": "000000"})
    assert wrong.status_code == 422  # (one chance in a million that 000000 is the code)
    done = client.post(
        "/console/mfa", data={"csrf_token": csrf, "secret": secret, "code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 201
    codes = RECOVERY.findall(done.text)
    assert len(codes) == 10
    return secret, codes


def signin_with(client: TestClient, email: str, code: str) -> int:
    client.cookies.clear()
    data = {"email": email, "password": PASSWORD, "code": code, "csrf_token": signin_form_token(client)}
    return client.post("/login", data=data, follow_redirects=False).status_code


def test_with_a_second_factor_sign_in_needs_the_code_or_a_recovery_code_once(
    client: TestClient, db: Database, people: dict[str, int]
) -> None:
    csrf = sign_in(client, email_of("pio"))
    secret, codes = turn_on(client, csrf)
    with db.read() as session:
        user = session.get_one(User, people["pio"])
        assert user.totp_secret == secret and codes[0] not in user.recovery_codes
    assert signin_with(client, email_of("pio"), "") == 400  # the password alone is not enough
    assert signin_with(client, email_of("pio"), "123") == 400
    assert signin_with(client, email_of("pio"), pyotp.TOTP(secret).now()) == 303
    assert signin_with(client, email_of("pio"), codes[0]) == 303
    assert signin_with(client, email_of("pio"), codes[0]) == 400  # each recovery code works once
    with db.read() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent)) if e.action.startswith("mfa.")]
    assert actions == ["mfa.enabled", "mfa.recovery_code_used"]
    # Accounts without a second factor sign in as before.
    assert signin_with(client, email_of("reviewer"), "") == 303


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, mfa_required=True))) as strict:
        yield strict


def test_mfa_required_makes_admins_turn_it_on_first(
    strict_client: TestClient, db: Database, people: dict[str, int]
) -> None:
    csrf = sign_in(strict_client, email_of("admin"))
    blocked = strict_client.get("/console/admin", follow_redirects=False)
    assert blocked.status_code == 303 and blocked.headers["location"] == "/console/mfa"
    secret, _ = turn_on(strict_client, csrf)
    assert strict_client.get("/console/admin", follow_redirects=False).status_code == 200
    # Other roles are not held up.
    sign_in(strict_client, email_of("pio"))
    assert strict_client.get("/console", follow_redirects=False).status_code == 200
    assert secret
