"""Fixtures for the PIO console: people of each role, signed-in clients, a clock to move."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import lxml.html
import pytest
from sqlalchemy import Select, Table, func, select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import accounts, sessions
from console.models import Base, User, utcnow
from console.settings import Settings
from console.web.app import create_app
from console.web.state import AppState
from tests.support.factories import PASSWORD, make_user

ROLES = ("reviewer", "pio", "admin")
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def state_of(client: TestClient) -> AppState:
    state: AppState = client.app_state["app_state"]
    return state


def email_of(role: str) -> str:
    return f"{role}@example.org"


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    """One account of each role; their password is `PASSWORD`."""
    return {role: make_user(db, role, email_of(role), f"{role.title()} Person") for role in ROLES}


@pytest.fixture
def clock(client: TestClient) -> FakeClock:
    """The app's clock, now under the test's control (it starts at the real time)."""
    fake = FakeClock(utcnow())
    state_of(client).clock = fake
    return fake


# What argon2id answers for a hash and a password never changes: `sign_in` asks it once per
# pair (test accounts share one hash) rather than at every sign-in, which was ~40 ms of each.
_password_matches = functools.cache(accounts.password_matches)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the real form (argon2's answer remembered); returns the session's CSRF
    token. Tests of the password check itself (timing, floods) post to /login themselves."""
    page = client.get("/login")
    token = TOKEN_FIELD.search(page.text)
    assert token, page.text
    with mock.patch.object(accounts, "password_matches", _password_matches):
        response = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    session_id = client.cookies.get("console_session") or client.cookies["__Host-console_session"]
    return sessions.csrf_token(session_id)


def signin_form_token(client: TestClient) -> str:
    token = TOKEN_FIELD.search(client.get("/login").text)
    assert token
    return token.group(1)


def start_session(db: Database, user_id: int, now: datetime | None = None) -> str:
    """A session made directly in the database (fast, for tests of many requests)."""
    with db.write() as session:
        return sessions.start(session, session.get_one(User, user_id), now=now or utcnow())


@pytest.fixture
def console_client(settings: Settings) -> Iterator[TestClient]:
    """A second browser on the same app: another PIO, say."""
    with TestClient(create_app(settings)) as second:
        yield second


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table: every write the console makes leaves at least an audit row.
    One statement counts them all: the security tests count after every request they send."""
    with db.read() as session:
        return dict(session.execute(_count_every(tuple(Base.metadata.sorted_tables))).one()._mapping)


@functools.cache
def _count_every(tables: tuple[Table, ...]) -> Select[Any]:
    return select(
        *(select(func.count()).select_from(table).scalar_subquery().label(table.name) for table in tables)
    )


def use_session(client: TestClient, session_id: str) -> None:
    """Make the client present `session_id` as its session cookie (replacing any other)."""
    client.cookies.delete("console_session")
    client.cookies.set("console_session", session_id, domain="testserver.local")


def sent_fields(form: lxml.html.HtmlElement) -> dict[str, str]:
    """What a browser sends from `form`: its inputs (ticked boxes only) and textareas."""
    fields: dict[str, str] = {}
    for element in form.xpath(".//input[@name] | .//textarea[@name]"):
        if element.get("type") == "checkbox" and element.get("checked") is None:
            continue
        fields[element.get("name")] = (
            element.text or "" if element.tag == "textarea" else element.get("value", "")
        )
    return fields


def colleague_corrects(colleague: TestClient, update_id: int, **fields: str) -> None:
    """Another PIO, signed in on `colleague`, publishes a correction of version 1 of the update
    made of `fields` (body, reason, ...)."""
    published = colleague.post(
        f"/console/updates/{update_id}/corrections",
        data={"corrects_version": "1", "step": "publish", "csrf_token": csrf_of(colleague), **fields},
        follow_redirects=False,
    )
    assert published.status_code == 303
