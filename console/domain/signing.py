"""Signing what is published, in the transaction that publishes it.

Every version, translation and rumor response is signed when it is written: the signature is
the base64url Ed25519 signature of the UTF-8 bytes of its `content_hash`, stored on the row
(rows are immutable, so a later key rotation can never re-sign history). The signer is the
agency's key set, which write sessions carry (`Database(url, signer=...)`): publishing
without one is refused rather than left unsigned.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from console.domain.errors import DomainError

SESSION_KEY = "signer"


class Signed(Protocol):
    @property
    def kid(self) -> str: ...
    @property
    def value(self) -> str: ...


class Signer(Protocol):
    def sign(self, message: bytes) -> Signed: ...


class SigningUnavailable(DomainError):
    code = "signing_unavailable"


def sign_hash(session: Session, content_hash: str) -> tuple[str, str]:
    """(kid, value) signing `content_hash` with the session's signing key."""
    signer: Signer | None = session.info.get(SESSION_KEY)
    if signer is None:
        raise SigningUnavailable("no signing key is loaded (SIGNING_KEY_FILE): nothing is published unsigned")
    signature = signer.sign(content_hash.encode("utf-8"))
    return signature.kid, signature.value


def signature_view(kid: str | None, value: str | None) -> dict[str, str] | None:
    """A stored signature as every export shows it; None for rows from before signing began."""
    if kid is None or value is None:
        return None
    return {"kid": kid, "alg": "EdDSA", "value": value}


class Sealed(Protocol):
    """A published row: its content hash and the signature of that hash (read-write)."""

    @property
    def content_hash(self) -> str: ...
    @content_hash.setter
    def content_hash(self, value: str) -> None: ...
    @property
    def signature_kid(self) -> str | None: ...
    @signature_kid.setter
    def signature_kid(self, value: str) -> None: ...
    @property
    def signature_value(self) -> str | None: ...
    @signature_value.setter
    def signature_value(self, value: str) -> None: ...


def seal(session: Session, row: Sealed, content_hash: str) -> None:
    """Set `row`'s content hash, and sign it with the session's signing key."""
    row.content_hash = content_hash
    row.signature_kid, row.signature_value = sign_hash(session, content_hash)
