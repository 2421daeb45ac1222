"""The signing key set: SIGNING_KEY_FILE, `console keys create`/`rotate`, and `console serve`
creating the development key. Signatures are checked with `cryptography` directly, from the
JWKS alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from console.cli import main
from console.db import Database
from console.keyset import KeyFile, KeySet, KeySetError, b64url_decode, create_key_file
from console.models import AuditEvent
from console.settings import Settings
from tests.support.server import ServerProcess


def verify_with_jwks(jwks: dict[str, object], kid: str, message: bytes, value: str) -> None:
    """Independent of the console: the raw key from `x`, the signature from base64url."""
    [jwk] = [key for key in jwks["keys"] if key["kid"] == kid]  # type: ignore[attr-defined]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["use"] == "sig"
    Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"])).verify(b64url_decode(value), message)


def test_keys_create_writes_a_secret_file_and_prints_the_kid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agency-keys.pem"
    monkeypatch.setenv("SIGNING_KEY_FILE", str(path))
    assert main(["keys", "create"]) == 0
    kid = capsys.readouterr().out.strip().splitlines()[-1]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys = KeySet.load(path)
    assert keys.current.kid == kid and keys.current.not_after is None
    assert path.read_text().count("PRIVATE KEY-----") == 2  # one block: BEGIN and END
    assert main(["keys", "create"]) == 1, "an existing key set is never replaced"
    assert "already exists" in capsys.readouterr().err
    assert KeySet.load(path).current.kid == kid


def test_rotation_keeps_old_public_keys_and_their_signatures_verifiable(
    tmp_path: Path,
    settings: Settings,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "keys.pem"
    first = create_key_file(path)
    running = KeyFile(path)  # a server process that loaded the file before the rotation
    old_signature = running.sign(b"version one")
    monkeypatch.setenv("SIGNING_KEY_FILE", str(path))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["keys", "rotate"]) == 0
    new_kid = capsys.readouterr().out.strip().splitlines()[-1]
    assert new_kid != first.current.kid
    with db.read() as session:  # the audit trail says who rotated what, and when
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "signing_key.rotated"))
    assert (event.actor, json.loads(event.data)) == (
        "operator via cli",
        {"retired": first.current.kid, "current": new_kid},
    )
    text = path.read_text()
    assert text.count("BEGIN PRIVATE KEY") == 1 and text.count("BEGIN PUBLIC KEY") == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The running process signs with the new key from now on, without a restart.
    new_signature = running.sign(b"version two")
    assert (old_signature.kid, new_signature.kid) == (first.current.kid, new_kid)
    jwks = running.keys.jwks()
    assert [key["kid"] for key in jwks["keys"]] == [new_kid, first.current.kid]
    retired = jwks["keys"][1]
    assert retired["not_after"] is not None and jwks["keys"][0]["not_after"] is None
    assert retired["not_before"] < retired["not_after"] <= jwks["keys"][0]["not_before"]
    verify_with_jwks(jwks, old_signature.kid, b"version one", old_signature.value)
    verify_with_jwks(jwks, new_signature.kid, b"version two", new_signature.value)
    with pytest.raises(InvalidSignature):
        verify_with_jwks(jwks, old_signature.kid, b"version two", old_signature.value)
    assert main(["keys", "rotate"]) == 0
    assert [key.kid for key in KeySet.load(path).keys][1:] == [new_kid, first.current.kid]


def test_a_rotation_the_audit_trail_cannot_record_does_not_happen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keys.pem"
    create_key_file(path)
    before = path.read_bytes()
    monkeypatch.setenv("SIGNING_KEY_FILE", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/never-migrated.db")
    assert main(["keys", "rotate"]) == 1
    assert "the key was not rotated: its audit event cannot be written" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_rotation_whose_audit_event_fails_to_commit_leaves_the_key_file_as_it_was(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The event is written, then its COMMIT fails (the disk fills under SQLite's write-ahead
    log, PostgreSQL restarts): the command says the key was not rotated, and so it must be.
    The file is put in place only once the event is committed."""
    path = settings.signing_key_file
    before = path.read_bytes()
    monkeypatch.setenv("SIGNING_KEY_FILE", str(path))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    db = Database(settings.database_url)

    def commit_fails(connection: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

    event.listen(db.engine, "commit", commit_fails)
    try:
        assert main(["keys", "rotate"]) == 1
    finally:
        event.remove(db.engine, "commit", commit_fails)
    assert "the key was not rotated" in capsys.readouterr().err
    assert path.read_bytes() == before, "the key file was replaced though the rotation was not recorded"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no staged copy is left behind"
    with db.read() as session:
        assert not session.scalars(select(AuditEvent).where(AuditEvent.action == "signing_key.rotated")).all()
    db.dispose()
    assert main(["keys", "rotate"]) == 0  # and once the database can commit, it rotates
    assert path.read_bytes() != before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_key_covers_its_period_with_a_minute_to_spare_for_clocks_and_rotations() -> None:
    began, retired = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    old = KeySet.generate(now=began).rotated(now=retired).keys[1]
    assert old.not_after == retired
    for moment, covered in (
        (began - timedelta(seconds=30), True),  # signed by a host whose clock runs ahead
        (began - timedelta(seconds=90), False),
        (retired + timedelta(seconds=30), True),  # timed before the rotation, signed after it
        (retired + timedelta(seconds=90), False),
    ):
        assert old.covers(moment) is covered, moment


def test_a_damaged_key_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "keys.pem"
    create_key_file(path)
    good = path.read_text()
    path.write_text(good.replace("kid=", "kid=X", 1))
    with pytest.raises(KeySetError, match="not the RFC 7638 thumbprint"):
        KeySet.load(path)
    path.write_text("\n".join(line for line in good.splitlines() if "PRIVATE" not in line))
    with pytest.raises(KeySetError, match="holds no signing key"):
        KeySet.load(path)
    with pytest.raises(KeySetError, match="console keys create"):
        KeySet.load(tmp_path / "missing.pem")


@pytest.mark.slow
def test_the_key_file_is_pem_that_openssl_reads(tmp_path: Path) -> None:
    path = tmp_path / "keys.pem"
    keys = create_key_file(path)
    out = subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-pubout", "-outform", "DER"], capture_output=True, check=True
    ).stdout
    assert out[-32:] == b64url_decode(keys.current.x)


@pytest.mark.slow
def test_serve_creates_the_development_key_on_first_start_only_at_the_default_path(
    tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "ARCHIVE_DIR": str(tmp_path / "archive")}
    env.pop("SIGNING_KEY_FILE", None)
    # An explicit SIGNING_KEY_FILE that is missing stops the server: a lost key is never replaced.
    missing = tmp_path / "etc" / "keys.pem"
    refused = subprocess.run(
        [sys.executable, "-m", "console", "serve", "--port", "1"],
        env={**env, "SIGNING_KEY_FILE": str(missing)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "does not exist" in refused.stderr and not missing.exists()
    with ServerProcess({"DATABASE_URL": database_url}, cwd=tmp_path, default_key_file=True) as server:
        assert "Created the signing key" in server.output
        created = tmp_path / "signing-key.pem"
        assert stat.S_IMODE(created.stat().st_mode) == 0o600
        kid = KeySet.load(created).current.kid
        assert kid in server.output
        with urllib.request.urlopen(f"{server.url}/.well-known/incident-console/keys.json") as answer:
            assert [key["kid"] for key in json.load(answer)["keys"]] == [kid]


def test_settings_default_key_file_is_relative_to_the_working_directory() -> None:
    assert Settings().signing_key_file == Path("signing-key.pem") and Settings().signing_key_file_is_default
    assert not Settings(signing_key_file=Path("/etc/console/keys.pem")).signing_key_file_is_default
