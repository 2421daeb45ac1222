"""Signing what is published, in the transaction that publishes it.

Every version, translation and rumor response is signed when it is written: the signature is
the base64url Ed25519 signature of the UTF-8 bytes of its `content_hash`, stored on the row
(rows are immutable, so a later key rotation can never re-sign history). The signer is the
agency's key set, which write sessions carry (`Database(url, signer=...)`): publishing
without one is refused rather than left unsigned.

An incident's export is signed as a whole too (`contents`): each signature above proves a
text, not that the export still holds every text; the signed list of its content hashes does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

from console.domain.canonical import canonical_json, sha256_hex
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


def content_hashes(record: Mapping[str, Any]) -> list[Any]:
    """Every content hash an incident record holds, in the order it lists them: each update's
    versions, each followed by its translations; then the details versions; then the details
    translations. The one order both `sign_contents` and `console verify` use."""
    hashes: list[Any] = []
    for update in record.get("updates") or []:
        for version in update.get("versions") or []:
            hashes.append(version.get("content_hash"))
            hashes.extend(view.get("content_hash") for view in version.get("translations") or [])
    hashes.extend(view.get("content_hash") for view in record.get("details_versions") or [])
    hashes.extend(view.get("content_hash") for view in (record.get("details_translations") or {}).values())
    return hashes


def contents_digest(hashes: list[Any]) -> str:
    return sha256_hex(canonical_json(hashes))


def contents_message(slug: str, count: int, digest: str, exported_at: str) -> bytes:
    """What `contents.signature` signs. The prefix keeps it apart from a content hash (what a
    version's signature signs) and a signed head's `size.hash.time`."""
    return f"contents.{slug}.{count}.{digest}.{exported_at}".encode()


def sign_contents(signer: Signer, export: Mapping[str, Any]) -> dict[str, Any]:
    """An export's `contents`: how many content hashes it holds, the SHA-256 of their list
    (`content_hashes`) and the signature binding both to the incident and `exported_at`."""
    hashes = content_hashes(export)
    digest = contents_digest(hashes)
    signature = signer.sign(contents_message(export["slug"], len(hashes), digest, export["exported_at"]))
    return {"count": len(hashes), "hash": digest, "kid": signature.kid, "signature": signature.value}
