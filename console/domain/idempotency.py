"""Idempotency keys for the publishing API: a request sent again with the same key gets the
first answer back instead of publishing twice.

The answer is stored in the transaction that published, and writes are serialized, so
"look for the key, else publish and store it" cannot interleave with another request
carrying the same key: either the first committed (and is replayed) or nothing was written
(and this request publishes). Only successes are stored; a refused request wrote nothing,
so sending it again is safe anyway.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from console.domain.errors import DomainError, InvalidInput
from console.models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
# Visible ASCII, as the IETF draft's examples (UUIDs, random tokens) are.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
KEEP_FOR = timedelta(hours=24)


class KeyReused(DomainError):
    """The key was already used for a different request: refusing beats guessing."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    location: str | None


def check_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidInput({HEADER: "must be 1 to 255 visible ASCII characters (e.g. a UUID)"})
    return value


def fingerprint(method: str, path: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def recall(session: Session, user_id: int, key: str, request_fingerprint: str) -> Answer | None:
    """The stored answer for this key, None if it is new; KeyReused for another request."""
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.fingerprint != request_fingerprint:
        raise KeyReused(
            f"this {HEADER} was already used for a different request; use a new key for a new request"
        )
    return Answer(row.status, json.loads(row.response), row.location)


def remember(
    session: Session,
    user_id: int,
    key: str,
    request_fingerprint: str,
    answer: Answer,
    *,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    # Keys are for retrying a request whose answer was lost, which happens within minutes.
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP_FOR))
    session.add(
        IdempotencyKey(
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            status=answer.status,
            response=json.dumps(answer.body, separators=(",", ":")),
            location=answer.location,
            created_at=now,
        )
    )
