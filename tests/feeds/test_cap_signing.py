"""Signed CAP: every message carries an enveloped XML Signature with the agency's certificate,
checked here with Debian's xmlsec1 (not the code that signed it) and still valid against the
OASIS schema; a changed file fails xmlsec1 and `console verify`."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.feeds.paths import cap_message
from console.feeds.writer import FeedFiles
from console.settings import Settings, SettingsError
from console.web.app import create_app
from tests.feeds.conftest import Sample, render, valid_cap

XMLSEC1 = "/usr/bin/xmlsec1"
DSIG = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.fixture
def signing(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a test CAP key and certificate made by `console keys create --cap`."""
    key, cert = tmp_path / "cap" / "cap-key.pem", tmp_path / "cap" / "cap-cert.pem"
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("CAP_SIGNING_KEY", str(key))
    monkeypatch.setenv("CAP_SIGNING_CERT", str(cert))
    assert main(["keys", "create", "--cap"]) == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert main(["keys", "create", "--cap"]) == 1, "an existing pair is never replaced"
    return replace(settings, cap_signing_key=key, cap_signing_cert=cert)


def xmlsec1_verify(path: Path, cert: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [XMLSEC1, "--verify", "--pubkey-cert-pem", str(cert), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_every_cap_message_is_signed_and_xmlsec1_verifies_it(
    signing: Settings, db: Database, sample: Sample, cap_schema: etree.XMLSchema, tmp_path: Path
) -> None:
    assert signing.cap_signing_cert is not None
    for seq, versions in ((1, 4), (2, 1)):
        for number in range(1, versions + 1):
            xml = render(signing, db, cap_message(sample.slug, seq, number))
            root = valid_cap(cap_schema, xml)  # the signature is allowed by the OASIS schema
            assert root[-1].tag == f"{DSIG}Signature", "the signature is the alert's last child"
            assert root[-1].find(f"{DSIG}KeyInfo/{DSIG}X509Data/{DSIG}X509Certificate") is not None
            path = tmp_path / f"{seq}-{number}.xml"
            path.write_bytes(xml)
            done = xmlsec1_verify(path, signing.cap_signing_cert)
            assert done.returncode == 0 and "OK" in done.stdout + done.stderr, done.stderr
    again = render(signing, db, cap_message(sample.slug, 1, 2))
    assert again == render(signing, db, cap_message(sample.slug, 1, 2)), "the same message, the same bytes"


@pytest.mark.slow
def test_a_changed_cap_file_fails_xmlsec1_and_console_verify(
    signing: Settings, db: Database, sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert signing.cap_signing_cert is not None
    path = tmp_path / "alert.xml"
    path.write_bytes(render(signing, db, cap_message(sample.slug, 1, 2)))
    capsys.readouterr()
    assert main(["verify", str(path), "--cap-cert", str(signing.cap_signing_cert)]) == 0
    assert "1 CAP files" in capsys.readouterr().out
    path.write_bytes(path.read_bytes().replace(b"Evacuate Elm St.", b"Evacuate Ash St."))
    done = xmlsec1_verify(path, signing.cap_signing_cert)
    assert done.returncode != 0 and "FAIL" in done.stdout + done.stderr
    assert main(["verify", str(path), "--cap-cert", str(signing.cap_signing_cert)]) == 1
    err = capsys.readouterr().err
    assert (
        f"FAILED {path}: the CAP message's XML signature does not verify with the agency's certificate" in err
    )


@pytest.mark.slow
def test_the_feed_files_are_signed_and_the_certificate_is_published(
    signing: Settings, db: Database, sample: Sample
) -> None:
    FeedFiles(signing).rebuild(db)
    written = cap_message(sample.slug, 2, 1).file_in(signing.feeds_dir)
    assert xmlsec1_verify(written, signing.cap_signing_cert or Path()).returncode == 0
    with TestClient(create_app(signing)) as client:
        answer = client.get("/.well-known/incident-console/cap-signing.pem")
        assert (
            answer.status_code == 200 and answer.content == (signing.cap_signing_cert or Path()).read_bytes()
        )
        assert answer.headers["content-type"] == "application/x-pem-file" and "etag" in answer.headers


def test_without_the_settings_cap_files_are_unsigned(
    settings: Settings, db: Database, sample: Sample
) -> None:
    assert b"Signature" not in render(settings, db, cap_message(sample.slug, 1, 1))
    with TestClient(create_app(settings)) as client:
        assert client.get("/.well-known/incident-console/cap-signing.pem").status_code == 404
    with pytest.raises(SettingsError, match="set together"):
        replace(settings, cap_signing_key=Path("/etc/key.pem"))
