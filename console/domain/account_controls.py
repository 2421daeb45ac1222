"""Admins shut an account off (and back on) or change its role; people end their other sessions.

Disabling takes effect at once: every console session of the account is deleted, every API
token it holds is revoked, and sign-in refuses it (the password is still checked, so the
answer takes as long and reads the same as a wrong password). Every change is audited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.accounts import find_user, normalize_email
from console.domain.actors import Actor, require_admin
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.models import ApiToken, ConsoleSession, Role, User, utcnow


def _account(session: Session, email: str) -> User:
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no account with email {normalize_email(email)!r}")
    return user


def _enabled_admins(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
    return session.scalar(query) or 0


def _keeps_an_admin(session: Session, user: User) -> None:
    # Without an enabled admin nobody could undo the change from the console.
    if user.role is Role.ADMIN and user.disabled_at is None and _enabled_admins(session) <= 1:
        raise NotAllowed(f"{user.email} is the last enabled admin")


def disable_user(session: Session, actor: Actor, *, email: str, now: datetime | None = None) -> User:
    require_admin(actor)
    user = _account(session, email)
    if user.disabled_at is not None:
        raise NotAllowed(f"{user.email} is already disabled")
    if actor.user_id == user.id:
        raise NotAllowed("you cannot disable your own account")
    _keeps_an_admin(session, user)
    now = now or utcnow()
    user.disabled_at = now
    ended = session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    revoked = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    audit.record_for_account(
        session,
        actor,
        "user.disabled",
        user.id,
        now=now,
        data={
            "sessions_ended": int(getattr(ended, "rowcount", 0) or 0),
            "tokens_revoked": int(getattr(revoked, "rowcount", 0) or 0),
        },
    )
    return user


def enable_user(session: Session, actor: Actor, *, email: str, now: datetime | None = None) -> User:
    """Sign-in works again; revoked tokens stay revoked (issue new ones)."""
    require_admin(actor)
    user = _account(session, email)
    if user.disabled_at is None:
        raise NotAllowed(f"{user.email} is not disabled")
    now = now or utcnow()
    user.disabled_at = None
    audit.record_for_account(session, actor, "user.enabled", user.id, now=now)
    return user


def set_role(
    session: Session, actor: Actor, *, email: str, role: Role | str, now: datetime | None = None
) -> User:
    require_admin(actor)
    user = _account(session, email)
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidInput({"role": f"must be one of {', '.join(r.value for r in Role)}"}) from None
    if new_role is user.role:
        raise NotAllowed(f"{user.email} is already {new_role.value}")
    if new_role is not Role.ADMIN:
        _keeps_an_admin(session, user)
    now = now or utcnow()
    old_role, user.role = user.role, new_role
    audit.record_for_account(
        session,
        actor,
        "user.role_changed",
        user.id,
        now=now,
        data={"from": old_role.value, "to": new_role.value},
    )
    return user


def end_other_sessions(
    session: Session, actor: Actor, *, keep_session_row_id: int, now: datetime | None = None
) -> int:
    """A person signs out every browser but this one (a lost laptop, a shared computer)."""
    if actor.user_id is None:
        raise NotFound("no account to end the sessions of")
    result = session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.user_id == actor.user_id, ConsoleSession.id != keep_session_row_id
        )
    )
    ended = int(getattr(result, "rowcount", 0) or 0)
    audit.record_for_account(
        session, actor, "sessions.ended", actor.user_id, now=now or utcnow(), data={"sessions_ended": ended}
    )
    return ended
