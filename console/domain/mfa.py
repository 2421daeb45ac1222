"""An optional second factor: TOTP (RFC 6238, via pyotp) with one-time recovery codes.

A person turns it on from the console: a new secret is shown (as text and an otpauth URI for
an authenticator app) and takes effect only once a code from it is entered, so nobody is
locked out by a mistyped secret. Then ten recovery codes are shown once; only their SHA-256
is kept, and each works once. From then on sign-in needs a current code (or a recovery code)
with the password. With MFA_REQUIRED=true, an admin without it must turn it on before using
the console.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.actors import Actor
from console.domain.errors import InvalidInput, NotAllowed, NotFound
from console.models import Role, User, utcnow

ISSUER = "Incident console"
RECOVERY_CODES = 10
# One 30-second step either side: a phone's clock a little off still works.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode("utf-8")).hexdigest()


def _code_matches(secret: str, code: str, now: datetime) -> bool:
    code = code.strip().replace(" ", "")
    return (
        code.isascii()
        and code.isdigit()
        and pyotp.TOTP(secret).verify(code, for_time=now, valid_window=VALID_WINDOW)
    )


def required(user_role: Role, *, mfa_required: bool) -> bool:
    return mfa_required and user_role is Role.ADMIN


def enabled(user: User) -> bool:
    return user.totp_secret is not None


def turn_on(
    session: Session, actor: Actor, *, secret: str, code: str, now: datetime | None = None
) -> list[str]:
    """Keep `secret` once `code` shows the app has it; returns the recovery codes (shown once)."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("no account to protect")
    if enabled(user):
        raise NotAllowed("a second factor is already on for this account")
    now = now or utcnow()
    if len(secret) > 64 or not _code_matches(secret, code, now):
        raise InvalidInput({"code": "is not the current code from your authenticator app"})
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    user.totp_secret = secret
    user.recovery_codes = " ".join(_digest(code) for code in codes)
    audit.record_for_account(session, actor, "mfa.enabled", user.id, now=now)
    return codes


def check(session: Session, user: User, code: str, *, now: datetime) -> bool:
    """A current TOTP code, or an unused recovery code (then used up, and audited)."""
    if user.totp_secret is None:
        return True
    if _code_matches(user.totp_secret, code, now):
        return True
    digest = _digest(code)
    kept = user.recovery_codes.split()
    match = next((d for d in kept if hmac.compare_digest(d, digest)), None)
    if match is None or not code.strip():
        return False
    kept.remove(match)
    user.recovery_codes = " ".join(kept)
    audit.record_for_account(
        session,
        Actor.of_user(user, "console"),
        "mfa.recovery_code_used",
        user.id,
        now=now,
        data={"left": len(kept)},
    )
    return True
