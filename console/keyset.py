"""The agency's Ed25519 signing keys: the key-set file (SIGNING_KEY_FILE) and its JWKS.

The file is PEM (RFC 7468) with one line of attributes before each block:

    kid=<kid> not_before=<time>
    -----BEGIN PRIVATE KEY-----        the current key (PKCS#8): it signs
    ...
    kid=<kid> not_before=<time> not_after=<time>
    -----BEGIN PUBLIC KEY-----         a retired key (SubjectPublicKeyInfo): it only verifies
    ...

Exactly one PRIVATE KEY block. Rotation turns the current key into a PUBLIC KEY block
ending now (its private half is gone for good) and adds a new PRIVATE KEY starting now, so
everything the old key signed stays verifiable and nothing new can be signed with it.
A `kid` is the key's RFC 7638 JWK thumbprint, so anyone can recompute it from `x`.
Times are UTC, ISO 8601 with microseconds (`2026-11-21T14:03:07.123456Z`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from console.domain.canonical import iso
from console.files import write_atomically
from console.models import utcnow

ALG = "EdDSA"
KEY_FILE_MODE = 0o600
_HEADER = (
    "# Incident console signing keys (SIGNING_KEY_FILE). The PRIVATE KEY block signs; each PUBLIC KEY\n"
    "# block is a retired key kept so that what it signed stays verifiable. Keep this file secret\n"
    "# (mode 0600) and backed up; never edit a block. `console keys rotate` replaces the signing key.\n"
)
_BLOCK = re.compile(
    r"^kid=(?P<kid>\S+) not_before=(?P<not_before>\S+)(?: not_after=(?P<not_after>\S+))?[ \t]*\r?\n"
    r"(?P<pem>-----BEGIN (?P<type>PRIVATE|PUBLIC) KEY-----\r?\n"
    r"[A-Za-z0-9+/=\r\n]+-----END (?P=type) KEY-----)",
    re.MULTILINE,
)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


# A publication timed just before a rotation and signed just after it (the running servers
# read the new key file at their next signature), or on a host whose clock is a little off,
# is still its key's: a key's period counts with this much to spare on each side.
CLOCK_SLACK = timedelta(seconds=60)


class KeySetError(Exception):
    """The key-set file is missing, unreadable or malformed."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def thumbprint(x: str) -> str:
    """RFC 7638: SHA-256 of the required members of the JWK, in lexicographic order, no spaces."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, sort_keys=True, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def parse_time(text: str) -> datetime:
    if not _TIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a UTC time such as 2026-11-21T14:03:07.123456Z")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class PublicKey:
    """A key as verifiers see it: its public half and when it was the signing key."""

    kid: str
    key: Ed25519PublicKey
    not_before: datetime
    not_after: datetime | None  # None while it is the current key

    @property
    def x(self) -> str:
        return b64url(raw_public(self.key))

    def covers(self, moment: datetime) -> bool:
        """Whether the key was the agency's signing key at `moment`, give or take CLOCK_SLACK."""
        return self.not_before - CLOCK_SLACK <= moment and (
            self.not_after is None or moment <= self.not_after + CLOCK_SLACK
        )

    def verifies(self, message: bytes, value: str) -> bool:
        try:
            self.key.verify(b64url_decode(value), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def jwk(self) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": self.kid,
            "x": self.x,
            "use": "sig",
            "alg": ALG,
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after) if self.not_after else None,
        }

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> PublicKey:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValueError(f"key {jwk.get('kid')!r} is not an Ed25519 OKP key")
        raw = b64url_decode(str(jwk["x"]))
        if len(raw) != 32:
            raise ValueError(f"key {jwk.get('kid')!r}: x is not 32 bytes")
        kid = str(jwk["kid"])
        if kid != thumbprint(str(jwk["x"])):
            raise ValueError(f"key {kid!r}: kid is not the RFC 7638 thumbprint of x")
        not_after = jwk.get("not_after")
        return cls(
            kid,
            Ed25519PublicKey.from_public_bytes(raw),
            parse_time(str(jwk["not_before"])),
            parse_time(str(not_after)) if not_after else None,
        )


@dataclass(frozen=True)
class Signature:
    """`value` is the base64url Ed25519 signature of the signed bytes, by key `kid`."""

    kid: str
    value: str
    alg: str = ALG

    def view(self) -> dict[str, str]:
        return {"kid": self.kid, "alg": self.alg, "value": self.value}


@dataclass(frozen=True)
class KeySet:
    """Every key the agency ever signed with, the current one (with its private half) first."""

    signing_key: Ed25519PrivateKey | None
    keys: tuple[PublicKey, ...]

    @property
    def current(self) -> PublicKey:
        return self.keys[0]

    @property
    def signing_began(self) -> datetime:
        """When the agency's first key came into use: everything published since is signed."""
        return min(key.not_before for key in self.keys)

    def find(self, kid: str) -> PublicKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def sign(self, message: bytes) -> Signature:
        if self.signing_key is None:
            raise KeySetError("this key set holds no private key: it can only verify")
        return Signature(self.current.kid, b64url(self.signing_key.sign(message)))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}

    @classmethod
    def from_jwks(cls, document: Any) -> KeySet:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError('not a JWKS: expected {"keys": [...]}')
        keys = tuple(PublicKey.from_jwk(jwk) for jwk in document["keys"] if isinstance(jwk, dict))
        if not keys:
            raise ValueError("the JWKS holds no Ed25519 key")
        return cls(None, keys)

    # --- the file ---------------------------------------------------------------------------

    def pem(self) -> bytes:
        assert self.signing_key is not None
        parts = [_HEADER]
        for key in self.keys:
            attributes = f"kid={key.kid} not_before={iso(key.not_before)}"
            if key.not_after is None:
                block = self.signing_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            else:
                attributes += f" not_after={iso(key.not_after)}"
                block = key.key.public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            parts.append(f"{attributes}\n{block.decode('ascii')}")
        return "".join(parts).encode("ascii")

    @classmethod
    def parse(cls, text: str, *, where: str = "the key file") -> KeySet:
        signing: Ed25519PrivateKey | None = None
        current: PublicKey | None = None
        retired: list[PublicKey] = []
        for match in _BLOCK.finditer(text):
            kid = match["kid"]
            try:
                not_before = parse_time(match["not_before"])
                not_after = parse_time(match["not_after"]) if match["not_after"] else None
                pem = match["pem"].encode("ascii")
                if match["type"] == "PRIVATE":
                    loaded_private = serialization.load_pem_private_key(pem, password=None)
                    if not isinstance(loaded_private, Ed25519PrivateKey):
                        raise ValueError("the private key is not an Ed25519 key")
                    private = loaded_private
                    public = private.public_key()
                else:
                    loaded = serialization.load_pem_public_key(pem)
                    if not isinstance(loaded, Ed25519PublicKey):
                        raise ValueError("a public key is not an Ed25519 key")
                    public = loaded
            except ValueError as exc:
                raise KeySetError(f"{where}: key {kid}: {exc}") from exc
            if kid != thumbprint(b64url(raw_public(public))):
                raise KeySetError(f"{where}: key {kid}: kid is not the RFC 7638 thumbprint of its key")
            key = PublicKey(kid, public, not_before, not_after)
            if match["type"] == "PRIVATE":
                if signing is not None:
                    raise KeySetError(f"{where}: more than one PRIVATE KEY block; keep only the current key")
                if not_after is not None:
                    raise KeySetError(f"{where}: the PRIVATE KEY (current key) must not have not_after")
                signing, current = private, key
            else:
                if not_after is None:
                    raise KeySetError(f"{where}: retired key {kid} has no not_after")
                retired.append(key)
        if signing is None or current is None:
            raise KeySetError(
                f"{where} holds no signing key (a 'kid=... not_before=...' line and a PRIVATE KEY block)"
            )
        retired.sort(key=lambda key: key.not_before, reverse=True)
        return cls(signing, (current, *retired))

    @classmethod
    def load(cls, path: Path) -> KeySet:
        try:
            text = path.read_text("ascii")
        except FileNotFoundError as exc:
            raise KeySetError(
                f"SIGNING_KEY_FILE {path} does not exist: create it with `console keys create`"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise KeySetError(f"SIGNING_KEY_FILE {path} cannot be read: {exc}") from exc
        return cls.parse(text, where=f"SIGNING_KEY_FILE {path}")

    @classmethod
    def generate(cls, *, now: datetime | None = None) -> KeySet:
        private = Ed25519PrivateKey.generate()
        public = private.public_key()
        key = PublicKey(thumbprint(b64url(raw_public(public))), public, now or utcnow(), None)
        return cls(private, (key,))

    def rotated(self, *, now: datetime | None = None) -> KeySet:
        """A new signing key from `now`; the current one retired at `now`, public half only."""
        now = now or utcnow()
        fresh = KeySet.generate(now=now)
        return KeySet(
            fresh.signing_key, (fresh.current, replace(self.current, not_after=now), *self.keys[1:])
        )


def write_key_set(path: Path, keys: KeySet) -> None:
    write_atomically(path, keys.pem(), mode=KEY_FILE_MODE)


def stage_key_set(path: Path, keys: KeySet) -> Path:
    """The key set written in full and fsynced to a new file beside `path` (mode 0600, from its
    creation), not yet in its place: `os.replace(staged, path)` puts it there at once, when the
    caller has recorded the change. Raises OSError (a full disk) leaving nothing behind."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(keys.pem())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staged, KEY_FILE_MODE)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def create_key_file(path: Path, *, now: datetime | None = None) -> KeySet:
    """A new key set with one signing key; refuses to replace an existing file."""
    if path.exists():
        raise KeySetError(f"{path} already exists; `console keys rotate` replaces its signing key")
    keys = KeySet.generate(now=now)
    write_key_set(path, keys)
    return keys


class KeyFile:
    """SIGNING_KEY_FILE as a running process uses it: read again whenever the file changes,
    so a `console keys rotate` takes effect without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys = self._read()

    def _read(self) -> KeySet:
        stat = os.stat(self.path) if self.path.exists() else None
        keys = KeySet.load(self.path)
        self._stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino) if stat else None
        return keys

    @property
    def keys(self) -> KeySet:
        try:
            stat = os.stat(self.path)
        except OSError:
            return self._keys  # gone for a moment (being replaced): keep the keys we have
        if (stat.st_mtime_ns, stat.st_size, stat.st_ino) != self._stamp:
            # half-way through an edit by hand: keep signing with what we had
            with self._lock, contextlib.suppress(KeySetError):
                self._keys = self._read()
        return self._keys

    def sign(self, message: bytes) -> Signature:
        return self.keys.sign(message)
