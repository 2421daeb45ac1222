"""Sign-in attempts: lockout per account, a limit per address, audited without the noise.

Attempts are counted by the email typed, whether or not an account has it, so neither
the messages nor the lockout tell anyone which accounts exist. After 10 failures for an
email within 15 minutes, every attempt for it is refused for 15 minutes, the right
password too (it is not even checked). A successful sign-in clears the account's count.
Separately, 50 failures from one address within 15 minutes refuse that address for
15 minutes, which stops one machine trying many accounts.

The attempts table is prunable (a day) and keeps only the SHA-256 of what was typed as the
email. The permanent audit trail gets each checked failure, but only one `signin.refused`
per lockout (with the failures behind it), and names an email only when an account has it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.accounts import normalize_email
from console.domain.actors import Actor
from console.models import SignInAttempt, SignInOutcome, User

ACCOUNT_MAX_FAILURES = 10
ADDRESS_MAX_FAILURES = 50
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
KEEP_ATTEMPTS = timedelta(days=1)
EMAIL_MAX = 254
ADDRESS_MAX = 64

ANONYMOUS = Actor(user_id=None, name="anonymous", role=None, via="console")
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Refusal:
    scope: str  # "account" or "address"
    until: datetime


@dataclass(frozen=True)
class Outcome:
    outcome: SignInOutcome
    user: User | None = None
    refusal: Refusal | None = None


def attempt_key(email: str) -> str:
    return normalize_email(email)[:EMAIL_MAX]


def _audited_email(session: Session, key: str) -> str | None:
    # What was typed in the email field goes into the permanent record only when it is an
    # account's address: a password typed into the wrong field, or any other text, never is.
    if not _EMAIL_SHAPE.match(key):
        return None
    return key if session.scalar(select(User.id).where(User.email == key)) is not None else None


def stored_key(key: str) -> str:
    """What the (prunable) attempts table keeps of the typed email: its SHA-256, so attempts on
    the same text are counted together while the text itself is never stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def locked_until(
    failures: Sequence[datetime], *, threshold: int, window: timedelta, lockout: timedelta
) -> datetime | None:
    """When the lockout set off by `failures` (oldest first) ends; None if never set off.

    A lockout starts at any failure that completes `threshold` failures within `window`.
    """
    until = None
    for last in range(threshold - 1, len(failures)):
        if failures[last] - failures[last - threshold + 1] <= window:
            until = failures[last] + lockout
    return until


def _failure_times(session: Session, *conditions: object) -> list[datetime]:
    query = (
        select(SignInAttempt.attempted_at)
        .where(SignInAttempt.outcome == SignInOutcome.FAILED, *conditions)  # type: ignore[arg-type]
        .order_by(SignInAttempt.attempted_at)
    )
    return list(session.scalars(query))


def refusal(session: Session, email: str, ip: str, *, now: datetime) -> Refusal | None:
    """Why an attempt for `email` from `ip` must be refused now, or None if it may go ahead."""
    key, since = stored_key(attempt_key(email)), now - (FAILURE_WINDOW + LOCKOUT)
    last_success = session.scalar(
        select(func.max(SignInAttempt.attempted_at)).where(
            SignInAttempt.email == key, SignInAttempt.outcome == SignInOutcome.SUCCEEDED
        )
    )
    start = max(since, last_success) if last_success is not None else since
    account = locked_until(
        _failure_times(session, SignInAttempt.email == key, SignInAttempt.attempted_at > start),
        threshold=ACCOUNT_MAX_FAILURES,
        window=FAILURE_WINDOW,
        lockout=LOCKOUT,
    )
    if account is not None and now < account:
        return Refusal("account", account)
    address = locked_until(
        _failure_times(session, SignInAttempt.ip == ip[:ADDRESS_MAX], SignInAttempt.attempted_at > since),
        threshold=ADDRESS_MAX_FAILURES,
        window=FAILURE_WINDOW,
        lockout=LOCKOUT,
    )
    if address is not None and now < address:
        return Refusal("address", address)
    return None


def _add(session: Session, key: str, ip: str, outcome: SignInOutcome, now: datetime) -> None:
    session.add(SignInAttempt(email=stored_key(key), ip=ip[:ADDRESS_MAX], outcome=outcome, attempted_at=now))
    session.flush()


def _count(session: Session, outcome: SignInOutcome, since: datetime, condition: object) -> int:
    query = select(func.count()).where(
        SignInAttempt.outcome == outcome,
        SignInAttempt.attempted_at >= since,
        condition,  # type: ignore[arg-type]
    )
    return session.scalar(query) or 0


def record_refused(session: Session, email: str, ip: str, why: Refusal, *, now: datetime) -> Outcome:
    """Count a refused attempt in the prunable attempts table; the permanent audit trail gets
    one `signin.refused` per account (or address) per lockout, with the failures behind it."""
    key = attempt_key(email)
    started = why.until - LOCKOUT
    scope = (
        SignInAttempt.email == stored_key(key)
        if why.scope == "account"
        else SignInAttempt.ip == ip[:ADDRESS_MAX]
    )
    first = _count(session, SignInOutcome.REFUSED, started, scope) == 0
    _add(session, key, ip, SignInOutcome.REFUSED, now)
    if first:
        failures = _count(session, SignInOutcome.FAILED, started - FAILURE_WINDOW, scope)
        audit.record(
            session,
            ANONYMOUS,
            "signin.refused",
            "sign-in",
            now=now,
            data={
                "email": _audited_email(session, key),
                "ip": ip,
                "scope": why.scope,
                "until": why.until.isoformat(),
                "failures": failures,
            },
        )
    return Outcome(SignInOutcome.REFUSED, refusal=why)


def conclude(session: Session, email: str, ip: str, user_id: int | None, *, now: datetime) -> Outcome:
    """Record an attempt whose password was checked (`user_id` is None when it did not match).

    The lockout is checked again here, inside the serialized write: attempts racing in
    parallel cannot get past the limit, and a refused one does not sign in even if its
    password was right.
    """
    why = refusal(session, email, ip, now=now)
    if why is not None:
        return record_refused(session, email, ip, why, now=now)
    key = attempt_key(email)
    user = session.get(User, user_id) if user_id is not None else None
    if user is not None and user.disabled_at is not None:  # disabled while its password was checked
        user = None
    if user is None:
        _add(session, key, ip, SignInOutcome.FAILED, now)
        audit.record(
            session,
            ANONYMOUS,
            "signin.failed",
            "sign-in",
            now=now,
            data={"email": _audited_email(session, key), "ip": ip},
        )
        return Outcome(SignInOutcome.FAILED)
    _add(session, key, ip, SignInOutcome.SUCCEEDED, now)
    session.execute(delete(SignInAttempt).where(SignInAttempt.attempted_at < now - KEEP_ATTEMPTS))
    audit.record_for_account(
        session, Actor.of_user(user, "console"), "signin.succeeded", user.id, now=now, data={"ip": ip}
    )
    return Outcome(SignInOutcome.SUCCEEDED, user=user)
