"""Signed versions, translations and audit heads, in every export, checked with code that is
not the console's: `cryptography` straight from the served JWKS, and `console verify` on
exports that were tampered with."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.testclient import TestClient

from console.archive_snapshot import export_snapshot
from console.cli import main
from console.db import Database
from console.domain import exports, rumors, text
from console.domain.audit import chain_head
from console.domain.details_translations import DetailsTranslationDraft, translate_details
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.signing import SigningUnavailable
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, publish_update
from console.keyset import KeyFile, KeySet, b64url_decode
from console.languages import Languages
from console.settings import Settings
from console.signed_head import HeadSigner
from console.verification import details_hash, verify_paths, version_hash
from console.web.state import AppState
from tests.archive.conftest import T0, Sample
from tests.archive.support import map_area
from tests.conftest import PIO


def public_key(jwks: dict[str, list[dict[str, str]]], kid: str) -> Ed25519PublicKey:
    [jwk] = [key for key in jwks["keys"] if key["kid"] == kid]
    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))


def check_signed(jwks: dict[str, list[dict[str, str]]], view: dict[str, object]) -> None:
    signature = view["signature"]
    assert isinstance(signature, dict) and signature["alg"] == "EdDSA"
    public_key(jwks, signature["kid"]).verify(
        b64url_decode(signature["value"]), str(view["content_hash"]).encode("utf-8")
    )


@pytest.fixture
def translated(db: Database, routing: Routing, sample: Sample) -> int:
    with db.write() as session:
        added = add_translation(
            session,
            PIO,
            sample.update_ids[2],
            TranslationDraft(lang="es", body="La fuga está contenida."),
            version=1,
            languages=Languages(("en", "es")),
            routing=routing,
            now=datetime(2026, 3, 1, 15, 0, tzinfo=UTC),
        )
        return added.translation.id


def test_jwks_is_cached_long_with_an_etag(client: TestClient, settings: Settings) -> None:
    answer = client.get("/.well-known/incident-console/keys.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/jwk-set+json"
    assert answer.headers["cache-control"] == "public, max-age=3600"
    [key] = answer.json()["keys"]
    assert set(key) == {"kty", "crv", "kid", "x", "use", "alg", "not_before", "not_after"}
    assert (key["kty"], key["crv"], key["use"], key["alg"], key["not_after"]) == (
        "OKP",
        "Ed25519",
        "sig",
        "EdDSA",
        None,
    )
    datetime.fromisoformat(key["not_before"])
    again = client.get(
        "/.well-known/incident-console/keys.json", headers={"If-None-Match": answer.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


def test_every_version_and_translation_is_signed_in_every_export(
    client: TestClient, sample: Sample, translated: int
) -> None:
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    api = client.get(f"/api/v1/incidents/{sample.slug}").json()
    export = client.get(f"/incidents/{sample.slug}.json").json()
    [line] = [json.loads(text) for text in client.get("/archive.jsonl").text.splitlines()]
    for record in (api, export, line):
        versions = [version for update in record["updates"] for version in update["versions"]]
        assert len(versions) == 6
        for version in versions:
            check_signed(jwks, version)
            for translation in version["translations"]:
                check_signed(jwks, translation)
        assert sum(len(version["translations"]) for version in versions) == 1
    rows = list(csv.DictReader(io.StringIO(client.get(f"/incidents/{sample.slug}/history.csv").text)))
    assert len(rows) == 6
    for row in rows:
        check_signed(
            jwks,
            {
                "content_hash": row["content_hash"],
                # A cell starting like a formula ("-" is one) carries a leading "'" (README).
                "signature": {
                    "kid": row["signature_kid"].removeprefix("'"),
                    "alg": "EdDSA",
                    "value": row["signature"].removeprefix("'"),
                },
            },
        )
    page = client.get(f"/incidents/{sample.slug}/history").text
    assert page.count('class="version__signature">Signed by the agency') == 6
    assert 'href="/.well-known/incident-console/keys.json"' in page and 'href="/audit/head.json"' in page


def test_nothing_is_published_unsigned(settings: Settings, routing: Routing) -> None:
    unsigned = Database(settings.database_url)
    with pytest.raises(SigningUnavailable), unsigned.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="No key"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Unsigned?"), routing=routing)
    unsigned.dispose()


def test_the_audit_head_is_signed_and_moves_on_after_a_publication(
    client: TestClient, db: Database, routing: Routing, sample: Sample
) -> None:
    moments = iter(
        datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC) + timedelta(milliseconds=400 * n) for n in range(20)
    )
    state: AppState = client.app_state["app_state"]
    state.heads = HeadSigner(lambda: state.keys.keys, clock=lambda: next(moments))
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    first = client.get("/audit/head.json")
    assert first.headers["cache-control"] == "public, max-age=1"
    head = first.json()
    assert set(head) == {"size", "hash", "time", "kid", "signature"}
    with db.read() as session:
        assert (head["size"], head["hash"]) == chain_head(session)
    message = f"{head['size']}.{head['hash']}.{head['time']}".encode()
    public_key(jwks, head["kid"]).verify(b64url_decode(head["signature"]), message)
    assert head["time"] == "2026-03-02T09:00:00Z"
    with db.write() as session:
        publish_update(session, PIO, sample.slug, Draft(body="Crews leaving."), routing=routing)
    # 0.4 s later: the head signed a moment ago still stands (at most one signing a second) ...
    assert client.get("/audit/head.json").json() == head
    # ... 0.8 s later too; at 1.2 s the publication is in a newly signed head.
    assert client.get("/audit/head.json").json() == head
    newer = client.get("/audit/head.json").json()
    assert newer["size"] > head["size"] and newer["time"] == "2026-03-02T09:00:01Z"
    public_key(jwks, newer["kid"]).verify(
        b64url_decode(newer["signature"]), f"{newer['size']}.{newer['hash']}.{newer['time']}".encode()
    )
    assert client.get("/audit/head.json").json() == newer, "an unchanged chain keeps its head"


def export_archive(settings: Settings, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`console archive export DIRECTORY` of the test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    assert main(["archive", "export", str(directory)]) == 0
    return directory


@pytest.fixture
def exported(
    settings: Settings,
    db: Database,
    sample: Sample,
    translated: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    return export_archive(settings, tmp_path / "export", monkeypatch)


@pytest.fixture
def details_changed(db: Database, routing: Routing, sample: Sample) -> None:
    """The sample's details version 2, with CAP defaults (hashed as their canonical JSON text),
    and its Spanish translation."""
    with db.write() as session:
        change_details(
            session,
            PIO,
            sample.slug,
            DetailsDraft(
                location="Elm St and Oak St",
                cap_defaults={"urgency": "Immediate", "response_types": ["Evacuate", "Monitor"]},
            ),
            reason="The leak reached Oak St",
            corrects_version=1,
            routing=routing,
            now=T0 + timedelta(hours=1),
        )
        translate_details(
            session,
            PIO,
            sample.slug,
            DetailsTranslationDraft(
                lang="es",
                title="Fuga de gas en Elm St",
                summary="Los equipos están en el lugar.",
                location="Elm St y Oak St",
            ),
            version=2,
            languages=Languages(("en", "es")),
            routing=routing,
            now=T0 + timedelta(hours=2),
        )


def test_every_details_version_and_translation_is_signed_in_every_export(
    client: TestClient, sample: Sample, details_changed: None
) -> None:
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    api = client.get(f"/api/v1/incidents/{sample.slug}").json()
    export = client.get(f"/incidents/{sample.slug}.json").json()
    [line] = [json.loads(text) for text in client.get("/archive.jsonl").text.splitlines()]
    for record in (api, export, line):
        assert [view["version"] for view in record["details_versions"]] == [1, 2]
        for view in record["details_versions"]:
            check_signed(jwks, view)
        assert list(record["details_translations"]) == ["es"]
        check_signed(jwks, record["details_translations"]["es"])


def test_console_verify_checks_details_and_names_a_tampered_one(
    settings: Settings,
    sample: Sample,
    details_changed: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exported = export_archive(settings, tmp_path / "export", monkeypatch)
    capsys.readouterr()
    assert main(["verify", str(exported)]) == 0, capsys.readouterr().err
    # the incident's JSON and its archive.jsonl line each hold 2 details versions and 1 translation
    out = capsys.readouterr().out
    assert "4 details versions, 2 details translations" in out and "not provable" not in out, out
    record = json.loads((exported / "incidents" / f"{sample.slug}.json").read_text())
    alone = tmp_path / "record.json"
    forged = record["details_versions"][1]
    forged["fields"]["location"] = "Ash St"
    alone.write_text(json.dumps(record))
    err = _verify_fails([alone], capsys)
    assert f"incident {sample.slug} details version 2: its text does not match its content_hash" in err
    # Re-hashing the forged text does not help: the signature is over the real hash.
    forged["content_hash"] = details_hash(sample.slug, forged)
    alone.write_text(json.dumps(record))
    err = _verify_fails([alone], capsys)
    assert f"details version 2: the signature does not verify with key {forged['signature']['kid']}" in err
    record["details_translations"]["es"]["title"] = "Simulacro"
    alone.write_text(json.dumps(record))
    err = _verify_fails([alone], capsys)
    assert f"incident {sample.slug} details version 2 (es translation): its text does not match" in err


def test_console_verify_counts_details_it_cannot_prove_apart(
    exported: Path, sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Details written before they were signed carry none, and an export made before
    `area_canonical` has a version's area only as GeoJSON. Neither is a failure: the summary
    says how many were not proved."""
    record = json.loads((exported / "incidents" / f"{sample.slug}.json").read_text())
    [first] = record["details_versions"]
    alone = tmp_path / "record.json"
    alone.write_text(json.dumps({**record, "details_versions": [{**first, "signature": None}]}))
    capsys.readouterr()
    assert main(["verify", str(alone)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "1 incident details written before they were signed (not provable offline)" in out, out
    area = {
        "type": "Feature",
        "geometry": None,
        "properties": {"description": "", "circles": [], "geocodes": []},
    }
    older = {key: value for key, value in first.items() if key != "area_canonical"}
    alone.write_text(json.dumps({**record, "details_versions": [{**older, "area": area}]}))
    assert main(["verify", str(alone)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "1 incident details versions with an area in an export without area_canonical" in out, out


# Clockwise in [lon, lat]: GeoJSON shows it turned, so only `area_canonical` gives the hashed text.
CLOCKWISE = [[38.90, -77.04], [38.93, -77.04], [38.93, -77.00], [38.90, -77.00], [38.90, -77.04]]


def test_console_verify_proves_a_details_version_with_an_area(
    client: TestClient,
    db: Database,
    routing: Routing,
    sample: Sample,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    area = {
        "description": "Downtown",
        "polygons": [CLOCKWISE],
        "circles": [{"lat": 38.915, "lon": -77.02, "radius_km": 1.5}],
        "geocodes": [{"name": "SAME", "value": "011001"}],
    }
    map_area(db, routing, sample.slug, area)
    record = client.get(f"/incidents/{sample.slug}.json").json()
    mapped = record["details_versions"][1]
    ring = mapped["area"]["geometry"]["coordinates"][0]
    assert ring == [[lon, lat] for lat, lon in CLOCKWISE[::-1]]  # turned, as RFC 7946 wants
    assert json.loads(mapped["area_canonical"])["polygons"] == [CLOCKWISE]
    keys = tmp_path / "keys.json"
    keys.write_text(client.get("/.well-known/incident-console/keys.json").text)
    alone = tmp_path / "record.json"
    alone.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["verify", str(alone), "--keys", str(keys)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "2 details versions" in out and "not provable" not in out and "without area" not in out, out

    # The map moved, its signed text kept: the two no longer agree.
    ring[1][1] += 0.5
    alone.write_text(json.dumps(record))
    err = _verify_fails([alone], capsys, "--keys", str(keys))
    assert f"incident {sample.slug} details version 2: its area (GeoJSON) is not the area its content" in err
    # Both moved together: the signed text no longer matches its hash.
    ring[1][1] -= 0.5
    moved = json.loads(mapped["area_canonical"])
    moved["polygons"][0][1][0] += 0.5
    mapped["area_canonical"] = json.dumps(moved)
    mapped["area"] = client.get(f"/incidents/{sample.slug}.json").json()["details_versions"][1]["area"]
    mapped["area"]["geometry"]["coordinates"][0][-2][1] += 0.5
    alone.write_text(json.dumps(record))
    err = _verify_fails([alone], capsys, "--keys", str(keys))
    assert f"incident {sample.slug} details version 2: its text does not match its content_hash" in err


def test_console_verify_passes_an_untouched_export(
    exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["verify", str(exported)]) == 0
    out = capsys.readouterr().out
    assert "every content hash and signature verified" in out
    # JSON, JSONL and CSV each hold the 6 versions; the CSV has no translations
    assert "18 versions" in out and "2 translations" in out and "1 signed manifests" in out, out


def test_an_export_with_a_record_taken_out_and_its_manifest_rewritten_fails(
    exported: Path, sample: Sample, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest_path = exported / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    (exported / "incidents" / f"{sample.slug}.json").unlink()
    shutil.rmtree(exported / "incidents" / sample.slug)
    (exported / "archive.jsonl").write_text("")
    files = {
        name: hashlib.sha256((exported / name).read_bytes()).hexdigest()
        for name in manifest["files"]
        if (exported / name).is_file()
    }
    manifest_path.write_text(json.dumps({**manifest, "files": files, "incidents": 0, "versions": 0}))
    err = _verify_fails([exported], capsys)
    assert "manifest.json: its signature does not verify (the manifest was changed)" in err

    manifest_path.write_text(json.dumps({**manifest, "audit_head": {"event": 1, "hash": "0" * 64}}))
    err = _verify_fails([exported], capsys)
    assert "manifest.json: its audit_head is not the one its signed_audit_head signs" in err
    assert "manifest.json: it lists 1 incidents, the folder holds 0" in err
    unsigned = {key: value for key, value in manifest.items() if key != "signature"}
    manifest_path.write_text(json.dumps(unsigned))
    assert "manifest.json: it carries no signature" in _verify_fails([exported], capsys)
    # Passed off as a snapshot from before manifests were signed: its signed audit head says when
    # it was made, and its records' signed contents lists what wrote them.
    manifest_path.write_text(json.dumps({**unsigned, "format": "incident-console/archive-snapshot/1"}))
    err = _verify_fails([exported], capsys)
    assert "manifest.json: format 1, but made at " in err and "its signature was taken away" in err
    without_head = {key: value for key, value in unsigned.items() if key != "signed_audit_head"}
    manifest_path.write_text(json.dumps({**without_head, "format": "incident-console/archive-snapshot/1"}))
    err = _verify_fails([exported], capsys)
    assert "a format-1 manifest carries signed_audit_head; this one was taken away" in err


def test_a_snapshot_made_before_manifests_were_signed_still_verifies(
    settings: Settings, db: Database, sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Format 1, as written before 2026-12-07: no manifest signature, no records' contents. Its
    files verify and the summary says what that leaves unproven; given today's records, it fails."""
    folder = tmp_path / "old"
    export_snapshot(db, settings, folder, now=datetime(2026, 12, 1, tzinfo=UTC))
    manifest = json.loads((folder / "manifest.json").read_text())
    record_path = folder / "incidents" / f"{sample.slug}.json"
    todays_record = record_path.read_text()
    record = json.loads(todays_record)
    del record["contents"]
    record_path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    lines = [json.loads(line) for line in (folder / "archive.jsonl").read_text().splitlines()]
    (folder / "archive.jsonl").write_text(
        "".join(json.dumps({k: v for k, v in line.items() if k != "contents"}) + "\n" for line in lines)
    )

    def write_format_one() -> None:
        files = {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in manifest["files"]}
        old = {key: value for key, value in manifest.items() if key != "signature"}
        (folder / "manifest.json").write_text(
            json.dumps({**old, "files": files, "format": "incident-console/archive-snapshot/1"})
        )

    write_format_one()
    capsys.readouterr()
    assert main(["verify", str(folder), "--keys", str(settings.signing_key_file)]) == 0
    out = capsys.readouterr().out
    assert "1 unsigned manifests (format 1: the snapshot's completeness is not proven)" in out, out
    record_path.write_text(todays_record)
    write_format_one()
    err = _verify_fails([folder], capsys, "--keys", str(settings.signing_key_file))
    assert f"incidents/{sample.slug}.json carries a signed contents list" in err
    # An audit head signed before the versions it is to vouch for: an older head put in its place.
    record_path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    older = tmp_path / "older"
    export_snapshot(db, settings, older, now=T0 - timedelta(days=1))
    manifest["signed_audit_head"] = json.loads((older / "manifest.json").read_text())["signed_audit_head"]
    manifest["audit_head"] = {
        "event": manifest["signed_audit_head"]["size"],
        "hash": manifest["signed_audit_head"]["hash"],
    }
    write_format_one()
    err = _verify_fails([folder], capsys, "--keys", str(settings.signing_key_file))
    assert f"incidents/{sample.slug}.json holds a version published at 2026-03-01T" in err
    assert "the head is an older one put in its place" in err


def _verify_fails(paths: list[Path], capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["verify", *map(str, paths), *extra]) == 1
    return capsys.readouterr().err


def test_a_tampered_export_fails_and_names_what(
    exported: Path, tmp_path: Path, sample: Sample, capsys: pytest.CaptureFixture[str]
) -> None:
    record = exported / "incidents" / f"{sample.slug}.json"
    alone = tmp_path / "record.json"
    shutil.copyfile(record, alone)
    text = alone.read_text()
    alone.write_text(text.replace("Residents of Elm St are evacuated.", "Residents of Ash St are evacuated."))
    err = _verify_fails([alone], capsys)
    assert f"incident {sample.slug} update 1 version 2: its text does not match its content_hash" in err
    # Re-hashing the forged text does not help: the signature is over the real hash.
    forged = json.loads(text)
    version = forged["updates"][-1]["versions"][1]
    version["body"] = "Residents of Ash St are evacuated."
    version["content_hash"] = version_hash(sample.slug, 1, version)
    alone.write_text(json.dumps(forged))
    err = _verify_fails([alone], capsys)
    assert f"update 1 version 2: the signature does not verify with key {version['signature']['kid']}" in err
    # The whole folder: the manifest catches the changed file too.
    record.write_text(text.replace("Issued in error", "Issued on purpose"))
    err = _verify_fails([exported], capsys)
    assert f"incidents/{sample.slug}.json: its SHA-256 differs from manifest.json's" in err
    assert "update 2 version 2: its text does not match its content_hash" in err


def test_a_tampered_signed_head_fails(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = json.loads((exported / "audit-head.json").read_text())
    capsys.readouterr()
    assert main(["verify", str(exported / "audit-head.json")]) == 0
    forged = tmp_path / "head.json"
    forged.write_text(json.dumps({**head, "size": head["size"] - 1}))
    err = _verify_fails([forged], capsys)
    assert f"the signed head's signature does not match size {head['size'] - 1}" in err
    forged.write_text(json.dumps({**head, "kid": "not-a-key"}))
    assert "signed by key 'not-a-key', which is not in the key set" in _verify_fails([forged], capsys)


def test_audit_verify_accepts_a_signed_head_file(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head_file = exported / "audit-head.json"
    capsys.readouterr()
    assert main(["audit", "verify", "--against", str(head_file)]) == 0
    out = capsys.readouterr().out
    assert "the log up to it is unchanged" in out and "every stored signature verifies" in out
    head = json.loads(head_file.read_text())
    forged = tmp_path / "head.json"
    # its hash is in the chain, its signature is not the agency's: the run ends on that failure
    forged.write_text(json.dumps({**head, "signature": head["signature"][::-1]}))
    assert main(["audit", "verify", "--against", str(forged)]) == 1
    out, err = capsys.readouterr()
    assert "the log up to it is unchanged" in out
    assert err.splitlines()[-1].startswith("FAILED: signed head: the signed head's signature does not match")
    forged.write_text(json.dumps({**head, "hash": "ab" * 32}))
    assert main(["audit", "verify", "--against", str(forged)]) == 1
    err = capsys.readouterr().err
    assert (
        "signed head: the signed head's signature does not match" in err
        and "is not in the audit chain" in err
    )


def test_key_rotation_keeps_earlier_exports_verifiable(
    settings: Settings,
    db: Database,
    routing: Routing,
    exported: Path,
    tmp_path: Path,
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_kid = json.loads((exported / "keys.json").read_text())["keys"][0]["kid"]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    assert main(["keys", "rotate"]) == 0
    rotated = Database(settings.database_url, signer=KeyFile(settings.signing_key_file))
    with rotated.write() as session:
        publish_update(
            session, PIO, "gas-leak-on-elm-st", Draft(body="Signed with the new key."), routing=routing
        )
    rotated.dispose()
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    assert [key["kid"] for key in jwks["keys"]][1] == old_kid
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(jwks))
    capsys.readouterr()
    assert main(["verify", str(exported), "--keys", str(keys_file)]) == 0, capsys.readouterr().err
    record = tmp_path / "now.json"
    record.write_text(client.get("/incidents/gas-leak-on-elm-st.json").text)
    assert main(["verify", str(record), "--keys", str(keys_file)]) == 0, capsys.readouterr().err
    kids = {v["signature"]["kid"] for u in json.loads(record.read_text())["updates"] for v in u["versions"]}
    assert kids == {old_kid, jwks["keys"][0]["kid"]}


def test_a_retired_key_proves_nothing_dated_after_its_retirement(tmp_path: Path) -> None:
    """Had the old private key leaked, a text it signed with a later date still fails."""
    started = datetime(2026, 1, 1, tzinfo=UTC)
    retired_at = datetime(2026, 6, 1, tzinfo=UTC)
    old = KeySet.generate(now=started)
    keys = old.rotated(now=retired_at)
    view: dict[str, object] = {
        "version": 1,
        "kind": "original",
        "headline": None,
        "body": "Evacuate now.",
        "preliminary": False,
        "reason": None,
        "author": "Impostor",
        "published_at": "2026-07-01T12:00:00+00:00",
    }
    view["content_hash"] = version_hash("fake", 1, view)
    view["signature"] = old.sign(str(view["content_hash"]).encode()).view()
    record = {"slug": "fake", "updates": [{"seq": 1, "versions": [view]}]}
    report = verify_paths([_write(tmp_path / "fake.json", record)], KeySet(None, keys.keys))
    assert report.problems == [
        f"{tmp_path / 'fake.json'}: incident fake update 1 version 1: key {old.current.kid} was not the "
        "agency's signing key at 2026-07-01T12:00:00+00:00"
    ]
    view["published_at"] = "2026-05-01T12:00:00+00:00"
    view["content_hash"] = version_hash("fake", 1, view)
    view["signature"] = old.sign(str(view["content_hash"]).encode()).view()
    assert verify_paths([_write(tmp_path / "fake.json", record)], KeySet(None, keys.keys)).ok


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_console_verify_reads_archive_jsonl_lines_split_at_newlines_only(
    settings: Settings,
    db: Database,
    routing: Routing,
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """JSON strings may hold U+2028 and U+2029 unescaped, as /archive.jsonl writes them:
    `console verify` separates JSON Lines records at "\\n" (or "\\r\\n") only."""
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak\u2028Elm St\u2029north"), routing=routing
        )
        slug = incident.slug
        publish_update(
            session, PIO, slug, Draft(body="Leave now.\u2028Go north.\u2029Stay out."), routing=routing
        )
        publish_update(session, PIO, slug, Draft(body="The leak is contained."), routing=routing)
    served = client.get("/archive.jsonl").content
    assert "\u2028".encode() in served and "\u2029".encode() in served  # unescaped, valid JSON
    [record] = [json.loads(line) for line in served.decode("utf-8").split("\n") if line]
    assert record["title"] == "Gas leak\u2028Elm St\u2029north"

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    archive = tmp_path / "archive.jsonl"
    archive.write_bytes(served)
    capsys.readouterr()
    assert main(["verify", str(archive)]) == 0, capsys.readouterr().err
    assert "2 versions" in capsys.readouterr().out

    # The folder `console archive export` writes (its own archive.jsonl, JSON and CSV).
    exported = tmp_path / "export"
    assert main(["archive", "export", str(exported)]) == 0
    assert "\u2028".encode() in (exported / "archive.jsonl").read_bytes()
    capsys.readouterr()
    assert main(["verify", str(exported)]) == 0, capsys.readouterr().err
    assert "6 versions" in capsys.readouterr().out  # the JSON, archive.jsonl and history.csv

    # U+0085 too (in a field no signature covers, as a reader's note added to the record: the
    # title is its signed details version's, which `console verify` checks), and "\r\n" line
    # ends with an empty last line, which the JSON Lines spec allows.
    # Two records: one incident's twice is refused (two copies spliced together), so another's.
    with db.write() as session:
        other, _ = create_incident(session, PIO, IncidentDraft(title="Road closed"), routing=routing)
        publish_update(session, PIO, other.slug, Draft(body="Main St is closed."), routing=routing)
    [second] = [
        line
        for line in map(json.loads, client.get("/archive.jsonl").text.split("\n")[:-1])
        if line["slug"] == other.slug
    ]
    odd, odder = (
        json.dumps({**one, "note": "A\x85B\u2028C\u2029D"}, ensure_ascii=False) for one in (record, second)
    )
    assert "\x85" in odd
    archive.write_bytes(f"{odd}\r\n{odder}\r\n".encode())
    capsys.readouterr()
    assert main(["verify", str(archive)]) == 0, capsys.readouterr().err
    assert "3 versions" in capsys.readouterr().out


def test_console_verify_passes_an_export_of_text_stored_with_carriage_returns(
    settings: Settings,
    db: Database,
    routing: Routing,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Text typed before line breaks were stored as newlines keeps its "\r\n": history.csv
    holds it in a quoted cell, and `console verify` reads the file as written."""
    with monkeypatch.context() as before_normalising:
        before_normalising.setattr(text, "_LINE_BREAK", re.compile("(?!)"))
        with db.write() as session:
            incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
            slug = incident.slug
            publish_update(
                session, PIO, slug, Draft(body="Leave now.\r\nGo north.\rStay out."), routing=routing
            )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    exported = tmp_path / "export"
    assert main(["archive", "export", str(exported)]) == 0
    assert (
        b"Leave now.\r\nGo north.\rStay out." in (exported / "incidents" / slug / "history.csv").read_bytes()
    )
    capsys.readouterr()
    assert main(["verify", str(exported)]) == 0, capsys.readouterr().err
    assert "3 versions" in capsys.readouterr().out  # the JSON, archive.jsonl and history.csv


def test_a_downloaded_history_csv_verifies_under_its_own_name_with_texts_that_start_with_quotes(
    settings: Settings,
    db: Database,
    routing: Routing,
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Saved under the name the server gives it, history.csv is checked (it was passed over);
    a text that starts with `'` before a formula character is given back exactly."""
    bodies = ["'=quoted on purpose", "=SUM(1,2) is how the rumor read", "''-two quotes", "'plain"]
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        for body in bodies:
            publish_update(session, PIO, incident.slug, Draft(body=body), routing=routing)
    response = client.get(f"/incidents/{incident.slug}/history.csv")
    name = re.search(r'filename="([^"]+)"', response.headers["content-disposition"])
    assert name is not None and name.group(1) == "gas-leak-history.csv"
    saved = tmp_path / name.group(1)
    saved.write_bytes(response.content)
    cells = sorted(row["body"] for row in csv.DictReader(io.StringIO(response.text)))
    assert cells == sorted(["'" + bodies[0], "'" + bodies[1], "'" + bodies[2], bodies[3]])
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    capsys.readouterr()
    assert main(["verify", str(saved)]) == 0, capsys.readouterr().err
    assert "4 versions" in capsys.readouterr().out
    saved.write_bytes(response.content.replace(b"two quotes", b"two quotas"))
    assert main(["verify", str(saved)]) == 1
    assert f"{saved} line " in capsys.readouterr().err
    audit = tmp_path / "audit.csv"  # another CSV: said once, not a failure per row
    audit.write_text("seq,occurred_at,actor,action\n1,2026-12-07T00:00:00Z,operator,user.created\n")
    assert main(["verify", str(audit)]) == 1
    err = capsys.readouterr().err
    assert err.count("FAILED") == 1 and "not a history CSV: it has no incident, version, kind, body" in err


def test_a_snapshot_holds_every_rumor_response_as_the_archive_channel_writes_it(
    settings: Settings,
    db: Database,
    routing: Routing,
    client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with db.write() as session:
        create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        published = rumors.publish_rumor(
            session,
            PIO,
            rumors.RumorDraft(claim="The water is poisoned", verdict="false", facts="It is safe to drink."),
            incident_slug=None,
            routing=routing,
            languages=Languages(("en", "es")),
            translations=[rumors.RumorTranslationDraft("es", "El agua está envenenada", "Es potable.")],
        )
        rumor_id = published.rumor.id
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    exported = tmp_path / "export"
    assert main(["archive", "export", str(exported)]) == 0
    saved = (exported / "rumors" / f"{rumor_id}.json").read_bytes()
    with db.read() as session:
        assert saved == exports.rumor_document(rumors.rumor_record(session, rumor_id))  # the channel's bytes
    assert json.loads(saved) == client.get(f"/api/v1/rumors/{rumor_id}").json()
    assert json.loads((exported / "manifest.json").read_text())["rumor_responses"] == 1
    capsys.readouterr()
    assert main(["verify", str(exported)]) == 0, capsys.readouterr().err
    assert "1 rumor responses, 1 rumor translations" in capsys.readouterr().out
    (exported / "rumors" / f"{rumor_id}.json").unlink()
    assert "it lists 1 rumor_responses, the folder holds 0" in _verify_fails([exported], capsys)


def test_audit_verify_checks_signatures_with_the_published_keys_alone(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An auditor's machine holds the public keys.json, not the private key file."""
    monkeypatch.setenv("SIGNING_KEY_FILE", str(tmp_path / "no-such-file.pem"))
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    out, err = capsys.readouterr()
    assert "every stored signature verifies" not in out and "note: signatures not checked" in err
    keys = exported / "keys.json"
    assert main(["audit", "verify", "--keys", str(keys), "--against", str(exported / "audit-head.json")]) == 0
    out = capsys.readouterr().out
    assert (
        "every stored signature verifies with the key set" in out and "the log up to it is unchanged" in out
    )
    assert main(["audit", "verify", "--against", str(exported / "audit-head.json")]) == 1
    assert "a signed head is checked with the agency's keys: pass --keys" in capsys.readouterr().err
