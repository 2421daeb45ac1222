"""The audit chain head, signed: `{"size", "hash", "time", "kid", "signature"}`.

`signature` is the base64url Ed25519 signature of the UTF-8 bytes of `"{size}.{hash}.{time}"`
by key `kid`: the agency states that at `time` its audit log held `size` events and the
newest one's hash was `hash`. Whoever keeps it can later prove the log up to that event was
not rewritten (`console audit verify --against FILE`), and nobody can fabricate one.
A new head is signed when the chain has moved on, at most once a second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from console.domain.audit import chain_head
from console.keyset import KeySet
from console.models import utcnow

MIN_INTERVAL_SECONDS = 1.0
HEAD_PATH = "/audit/head.json"
KEYS_PATH = "/.well-known/incident-console/keys.json"


def signing_links(public_url: str) -> dict[str, str]:
    """Where to get what proves an export: the agency's keys and its signed audit chain head."""
    return {"keys": public_url + KEYS_PATH, "audit_head": public_url + HEAD_PATH}


def head_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def head_message(size: int, digest: str, time: str) -> bytes:
    return f"{size}.{digest}.{time}".encode()


@dataclass(frozen=True)
class SignedHead:
    size: int
    hash: str
    time: str
    kid: str
    signature: str

    def view(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "hash": self.hash,
            "time": self.time,
            "kid": self.kid,
            "signature": self.signature,
        }


def sign_head(keys: KeySet, size: int, digest: str, now: datetime) -> SignedHead:
    time = head_time(now)
    signature = keys.sign(head_message(size, digest, time))
    return SignedHead(size, digest, time, signature.kid, signature.value)


def check_head(document: Any, keys: KeySet) -> list[str]:
    """What is wrong with a signed head (nothing: an empty list), using only the key set."""
    if not isinstance(document, dict):
        return ["a signed head is a JSON object"]
    missing = [name for name in ("size", "hash", "time", "kid", "signature") if name not in document]
    if missing:
        return [f"the signed head lacks {', '.join(missing)}"]
    size, digest, time, kid = document["size"], document["hash"], document["time"], document["kid"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return ["the signed head's size is not a whole number"]
    if not isinstance(digest, str) or not isinstance(time, str) or not isinstance(document["signature"], str):
        return ["the signed head's hash, time and signature must be strings"]
    key = keys.find(str(kid))
    if key is None:
        return [f"the signed head was signed by key {kid!r}, which is not in the key set"]
    if not key.verifies(head_message(size, digest, time), document["signature"]):
        return [f"the signed head's signature does not match size {size}, hash {digest} and time {time}"]
    try:
        moment = datetime.strptime(time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return [f"the signed head's time {time!r} is not a UTC time such as 2026-11-21T14:03:07Z"]
    # The time is cut to the second, well within a key period's CLOCK_SLACK.
    if not key.covers(moment):
        return [f"key {kid} was not the agency's signing key at {time}"]
    return []


class HeadSigner:
    """Signs the current head on request, re-using the last one while the chain has not moved or
    less than a second has passed (so every head is signed at most once, and a crowd polling it
    costs one signature a second at most)."""

    def __init__(self, keys: Callable[[], KeySet], clock: Callable[[], datetime] = utcnow) -> None:
        self._keys = keys
        self._clock = clock
        self._lock = threading.Lock()
        self._last: SignedHead | None = None
        self._signed_at: datetime | None = None

    def current(self, session: Session) -> SignedHead:
        size, digest = chain_head(session)
        now = self._clock()
        with self._lock:
            last = self._last
            if last is not None and (last.size, last.hash) == (size, digest):
                return last
            if (
                last is not None
                and self._signed_at is not None
                and (now - self._signed_at).total_seconds() < MIN_INTERVAL_SECONDS
            ):
                return last
            self._last, self._signed_at = sign_head(self._keys(), size, digest, now), now
            return self._last
