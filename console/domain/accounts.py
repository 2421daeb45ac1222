"""People and API tokens: argon2id password hashes, tokens stored only as hashes."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager

from console.domain import audit
from console.domain.actors import Actor, require_admin
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.domain.text import clean
from console.models import ApiToken, Role, User, utcnow

# OWASP's argon2id recommendation: m=19 MiB, t=2, p=1.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
TOKEN_PREFIX = "ick_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@functools.cache
def _dummy_hash() -> str:
    # Checked when an email is unknown, so a wrong email costs as long as a wrong password.
    return PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def find_user(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == normalize_email(email))).first()


def check_credentials(session: Session, email: str, password: str) -> User | None:
    """The user if the password matches and the account is enabled; the same work is done
    whether or not the email exists, so a disabled account reads like a wrong password."""
    user = find_user(session, email)
    if user is None:
        password_matches(_dummy_hash(), password)
        return None
    matches = password_matches(user.password_hash, password)
    return user if matches and user.disabled_at is None else None


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    display_name: str | None,
    role: Role | str,
    password: str,
    must_change_password: bool = False,
    now: datetime | None = None,
) -> User:
    require_admin(actor)
    errors: dict[str, str] = {}
    address = normalize_email(email)
    if not _EMAIL.match(address) or len(address) > 254:
        errors["email"] = "is not an email address"
    elif find_user(session, address) is not None:
        errors["email"] = "already has an account"
    name = clean(
        display_name or address.split("@")[0],
        max_chars=100,
        required=True,
        errors=errors,
        field="display_name",
    )
    try:
        role = Role(role)
    except ValueError:
        errors["role"] = f"must be one of {', '.join(r.value for r in Role)}"
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors["password"] = f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
    if errors or name is None or not isinstance(role, Role):
        raise InvalidInput(errors)
    now = now or utcnow()
    user = User(
        email=address,
        display_name=name,
        role=role,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record_for_account(
        session, actor, "user.created", user.id, now=now, data={"role": role.value, "display_name": name}
    )
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    require_admin(actor)
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no account with email {normalize_email(email)!r}")
    errors: dict[str, str] = {}
    label = clean(name or "API token", max_chars=100, required=True, errors=errors, field="name")
    if errors or label is None:
        raise InvalidInput(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or utcnow()
    token = ApiToken(
        user=user, name=label, token_hash=token_digest(secret), prefix=secret[:10], created_at=now
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.created",
        f"token {token.id}",
        now=now,
        data={"token_id": token.id, "user_id": user.id, "name": label, "prefix": token.prefix},
    )
    return IssuedToken(token, secret)


def actor_for_token(session: Session, secret: str) -> Actor | None:
    token = session.scalars(
        select(ApiToken)
        .join(ApiToken.user)
        .where(
            ApiToken.token_hash == token_digest(secret),
            ApiToken.revoked_at.is_(None),
            User.disabled_at.is_(None),
        )
    ).first()
    if token is None:
        return None
    return Actor.of_user(token.user, "api")


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def list_tokens(session: Session) -> list[ApiToken]:
    """Every API token, newest first, with its owner loaded."""
    query = select(ApiToken).join(ApiToken.user).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return list(session.scalars(query.options(contains_eager(ApiToken.user))))


def revoke_token(session: Session, actor: Actor, token_id: int, *, now: datetime | None = None) -> ApiToken:
    """Stop a token working at once. The row stays, so the audit trail can still name it."""
    require_admin(actor)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}")
    if token.revoked_at is not None:
        raise NotAllowed(f"token {token.prefix}… ({token.name}) is already revoked")
    now = now or utcnow()
    token.revoked_at = now
    audit.record(
        session,
        actor,
        "token.revoked",
        f"token {token.id}",
        now=now,
        data={"token_id": token.id, "user_id": token.user_id, "name": token.name, "prefix": token.prefix},
    )
    return token


def change_password(
    session: Session, actor: Actor, *, current: str, new: str, now: datetime | None = None
) -> User:
    """A person replaces their own password; the current one must be given."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("no account to change the password of")
    errors: dict[str, str] = {}
    if not password_matches(user.password_hash, current):
        errors["current_password"] = "is not your current password"
    if not PASSWORD_MIN <= len(new) <= PASSWORD_MAX:
        errors["new_password"] = f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
    elif new == current:
        errors["new_password"] = "must differ from the current password"
    if errors:
        raise InvalidInput(errors)
    now = now or utcnow()
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit.record_for_account(session, actor, "password.changed", user.id, now=now)
    return user
