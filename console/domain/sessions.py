"""Console sign-in sessions, kept on the server.

The browser's cookie holds a 256-bit random id; the table holds only its SHA-256, so a
copy of the database lets no one sign in. A session ends after 30 minutes without
activity or 12 hours after sign-in, whichever comes first, and at sign-out. The CSRF
token is derived from the id, so it changes with every sign-in and is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.actors import Actor
from console.models import ConsoleSession, Role, User

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)
# Activity is written at most this often, so reading pages does not mean a write each time.
TOUCH_INTERVAL = timedelta(seconds=60)


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The token forms and htmx send back: only someone who holds the cookie can compute it."""
    return hmac.new(session_id.encode("utf-8"), b"console csrf token", hashlib.sha256).hexdigest()


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class SignedIn:
    """Who a valid session belongs to, as read at the start of a request."""

    session_row_id: int
    user_id: int
    email: str
    display_name: str
    role: Role
    must_change_password: bool
    created_at: datetime
    last_seen_at: datetime
    has_second_factor: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user_id, name=self.display_name, role=self.role, via="console")

    @property
    def expires_at(self) -> datetime:
        return min(self.last_seen_at + IDLE_TIMEOUT, self.created_at + ABSOLUTE_LIFETIME)

    def needs_touch(self, now: datetime) -> bool:
        return now - self.last_seen_at >= TOUCH_INTERVAL


def _expired(now: datetime):  # type: ignore[no-untyped-def]
    return or_(
        ConsoleSession.last_seen_at <= now - IDLE_TIMEOUT,
        ConsoleSession.created_at <= now - ABSOLUTE_LIFETIME,
    )


def start(session: Session, user: User, *, now: datetime) -> str:
    """A new session for `user`; returns the id for the cookie (a new one at every sign-in)."""
    session.execute(delete(ConsoleSession).where(_expired(now)))
    session_id = secrets.token_urlsafe(32)
    session.add(ConsoleSession(id_hash=digest(session_id), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return session_id


def resume(session: Session, session_id: str, *, now: datetime) -> SignedIn | None:
    """The signed-in user of a cookie's session id, or None if unknown or expired."""
    row = session.execute(
        select(ConsoleSession, User)
        .join(User, ConsoleSession.user_id == User.id)
        .where(ConsoleSession.id_hash == digest(session_id), User.disabled_at.is_(None))
    ).first()
    if row is None:
        return None
    record, user = row
    signed_in = SignedIn(
        session_row_id=record.id,
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        must_change_password=user.must_change_password,
        created_at=record.created_at,
        last_seen_at=record.last_seen_at,
        has_second_factor=user.totp_secret is not None,
    )
    return signed_in if now < signed_in.expires_at else None


def touch(session: Session, session_row_id: int, *, now: datetime) -> None:
    session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_row_id).values(last_seen_at=now)
    )


def end(session: Session, session_id: str, *, now: datetime) -> bool:
    """Sign out: the session is deleted, so its cookie is worthless from now on."""
    row = session.execute(
        select(ConsoleSession, User)
        .join(User, ConsoleSession.user_id == User.id)
        .where(ConsoleSession.id_hash == digest(session_id))
    ).first()
    if row is None:
        return False
    record, user = row
    session.delete(record)
    audit.record_for_account(session, Actor.of_user(user, "console"), "signout", user.id, now=now)
    return True


def end_all(session: Session, user_id: int) -> int:
    """End every session of a user (after a password change, for instance)."""
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
