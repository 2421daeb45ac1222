"""`contents`: every incident export lists, signed when it is built, how many content hashes it
holds and the SHA-256 of their list, so what numbering cannot show (a newest version, update,
translation or details version taken out) fails `console verify`. Checked with code that is
not the console's where it can be: `cryptography` straight from the served JWKS."""

# The fixtures of test_signatures.py, imported by name: each test's parameter of that name is
# the fixture, which ruff takes for a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.domain import exports
from console.domain.outbox import Routing
from console.domain.signing import sign_contents
from console.domain.updates import Draft, publish_update
from console.keyset import KeySet, b64url_decode
from console.settings import Settings
from console.signed_head import signing_links
from console.verification import verify_paths
from console.web.state import AppState
from tests.archive.conftest import Sample
from tests.archive.support import deliver_everything
from tests.archive.test_signatures import (  # noqa: F401 (fixtures)
    details_changed,
    export_archive,
    public_key,
    translated,
)
from tests.conftest import PIO

Record = dict[str, Any]
NOT_PROVEN = "incident records without a signed contents list (completeness not proven)"
# The sample (6 versions), its Spanish translation, details versions 1 and 2 and the latter's
# Spanish translation.
HELD = 10


@pytest.fixture(autouse=True)
def _agency_keys(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))


@pytest.fixture
def everything(sample: Sample, translated: int, details_changed: None) -> Sample:
    return sample


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["verify", str(path), *more])
    out, err = capsys.readouterr()
    return status, out + err


def _listed_hashes(record: Record) -> list[str]:
    """The README's order, written out again: each update as listed, each version followed by
    its translations; the details versions; the details translations."""
    hashes = []
    for update in record["updates"]:
        for version in update["versions"]:
            hashes.append(version["content_hash"])
            hashes.extend(translation["content_hash"] for translation in version["translations"])
    hashes.extend(view["content_hash"] for view in record["details_versions"])
    hashes.extend(view["content_hash"] for view in record["details_translations"].values())
    return hashes


def _check_contents(jwks: dict[str, Any], record: Record) -> None:
    contents = record["contents"]
    assert set(contents) == {"count", "hash", "kid", "signature"}
    hashes = _listed_hashes(record)
    listed = json.dumps(hashes, separators=(",", ":"))
    assert contents["count"] == len(hashes) == HELD
    assert contents["hash"] == hashlib.sha256(listed.encode()).hexdigest()
    message = f"contents.{record['slug']}.{contents['count']}.{contents['hash']}.{record['exported_at']}"
    public_key(jwks, contents["kid"]).verify(b64url_decode(contents["signature"]), message.encode("utf-8"))


def test_every_export_carries_its_signed_contents(
    settings: Settings,
    client: TestClient,
    everything: Sample,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    served = client.get(f"/incidents/{everything.slug}.json").json()
    [line] = [json.loads(text) for text in client.get("/archive.jsonl").text.splitlines()]
    folder = export_archive(settings, tmp_path / "export", monkeypatch)
    snapshot = json.loads((folder / "incidents" / f"{everything.slug}.json").read_text())
    [snapshot_line] = [json.loads(text) for text in (folder / "archive.jsonl").read_text().splitlines()]
    for record in (served, line, snapshot, snapshot_line):
        _check_contents(jwks, record)
    assert list(served)[-1] == "contents", "after everything it lists"
    # the API's record is no export: nothing signed as a whole
    assert "contents" not in client.get(f"/api/v1/incidents/{everything.slug}").json()


def test_the_archive_file_is_still_the_export_with_its_contents(
    settings: Settings, db: Database, client: TestClient, everything: Sample
) -> None:
    deliver_everything(settings, db)
    served = client.get(f"/incidents/{everything.slug}.json")
    path = settings.archive_dir / "incidents" / f"{everything.slug}.json"
    assert path.read_bytes() == served.content
    assert json.loads(served.content)["contents"]["count"] == HELD


def test_without_a_signing_key_an_export_has_no_contents(settings: Settings, everything: Sample) -> None:
    unsigned = Database(settings.database_url)  # as a version from before signing shows none
    try:
        with unsigned.read() as session:
            record = exports.public_record(
                session, everything.slug, signing=signing_links(settings.public_url), signer=None
            )
    finally:
        unsigned.dispose()
    assert "contents" not in record and record["updates"][0]["versions"][0]["signature"] is not None


def test_the_archive_jsonl_is_signed_when_built_not_per_request(
    client: TestClient, everything: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    state: AppState = client.app_state["app_state"]
    signer = state.db.signer
    assert signer is not None
    signed: list[bytes] = []
    real = signer.sign

    def counting(message: bytes) -> Any:
        signed.append(message)
        return real(message)

    monkeypatch.setattr(signer, "sign", counting)
    first = client.get("/archive.jsonl").content
    for _ in range(3):
        assert client.get("/archive.jsonl").content == first
    assert len(signed) == 1 and signed[0].startswith(f"contents.{everything.slug}.".encode())


def _update(record: Record, seq: int) -> Record:
    [update] = [update for update in record["updates"] if update["seq"] == seq]
    return update


TAKEN_OUT: list[tuple[str, Callable[[Record], object], int]] = [
    # Update 1's confirmation, its newest version: its numbers still run 1, 2.
    ("the newest version", lambda r: _update(r, 1)["versions"].pop(), HELD - 1),
    # Update 3, the newest (with its translation): the updates still run 1, 2.
    ("the newest update", lambda r: r["updates"].pop(0), HELD - 2),
    ("a translation", lambda r: _update(r, 3)["versions"][0]["translations"].pop(), HELD - 1),
    ("the newest details version", lambda r: r["details_versions"].pop(), HELD - 1),
    ("a details translation", lambda r: r["details_translations"].pop("es"), HELD - 1),
]


@pytest.mark.parametrize(("what", "change", "held"), TAKEN_OUT, ids=[what for what, _, _ in TAKEN_OUT])
def test_a_record_with_something_taken_out_fails(
    client: TestClient,
    everything: Sample,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    what: str,
    change: Callable[[Record], object],
    held: int,
) -> None:
    record = client.get(f"/incidents/{everything.slug}.json").json()
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 0 and "1 signed contents lists" in said, said
    change(record)
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 1, said
    assert (
        f"incident {everything.slug}: contents: the record holds {held} content hashes, "
        f"the signed contents list {HELD}"
    ) in said, said


def test_contents_changed_to_match_or_moved_fail(
    client: TestClient, everything: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = client.get(f"/incidents/{everything.slug}.json").json()
    path = tmp_path / "record.json"
    _update(record, 1)["versions"].pop()
    record["contents"]["count"] = HELD - 1  # the count made to match: its signature no longer does
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 1 and f"incident {everything.slug}: contents: its signature does not verify" in said

    record = client.get(f"/incidents/{everything.slug}.json").json()
    record["details_versions"].reverse()  # as many hashes, in another order
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 1, said
    assert "contents: the record's content hashes are not those the signed contents list" in said, said


def test_a_record_without_contents_is_counted_as_not_proven(
    client: TestClient, everything: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export from before `contents` still verifies: what it holds is authentic, but whether
    anything was taken out of it is not proven, and the summary says so."""
    record = client.get(f"/incidents/{everything.slug}.json").json()
    del record["contents"]
    _update(record, 1)["versions"].pop()  # without contents, this does not show
    path = tmp_path / "older.json"
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 0, said
    assert f"1 {NOT_PROVEN}" in said and "signed contents lists" not in said, said


def test_a_rotated_key_still_verifies_an_older_export(
    settings: Settings,
    db: Database,
    routing: Routing,
    client: TestClient,
    everything: Sample,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    older = tmp_path / "older.json"
    older.write_text(client.get(f"/incidents/{everything.slug}.json").text)
    old_kid = json.loads(older.read_text())["contents"]["kid"]
    assert main(["keys", "rotate"]) == 0
    jwks = client.get("/.well-known/incident-console/keys.json").json()
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps(jwks))
    new_kid = jwks["keys"][0]["kid"]
    assert new_kid != old_kid
    status, said = _verify(older, capsys, "--keys", str(keys_file))
    assert status == 0 and "1 signed contents lists" in said, said
    # Built after the rotation, of a record last changed before it: the new key signs it.
    rebuilt = tmp_path / "rebuilt.json"
    rebuilt.write_text(client.get(f"/incidents/{everything.slug}.json").text)
    assert json.loads(rebuilt.read_text())["contents"]["kid"] == new_kid
    status, said = _verify(rebuilt, capsys, "--keys", str(keys_file))
    assert status == 0, said


def test_a_retired_key_proves_no_contents_exported_after_its_retirement(tmp_path: Path) -> None:
    """Had the old private key leaked, a contents list it signed for a later export fails."""
    retired_at = datetime(2026, 6, 1, tzinfo=UTC)
    old = KeySet.generate(now=datetime(2026, 1, 1, tzinfo=UTC))
    keys = KeySet(None, old.rotated(now=retired_at).keys)
    record: Record = {"slug": "fake", "updates": [], "details_versions": [], "details_translations": {}}
    path = tmp_path / "fake.json"
    for exported_at, ok in ((retired_at - timedelta(days=1), True), (retired_at + timedelta(days=1), False)):
        record["exported_at"] = exported_at.isoformat()
        record["contents"] = sign_contents(old, record)
        path.write_text(json.dumps(record))
        report = verify_paths([path], keys)
        assert report.ok is ok, report.problems
    assert report.problems == [
        f"{path}: incident fake: contents: key {old.current.kid} was retired before the record was "
        f"exported ({record['exported_at']})"
    ]


def test_publishing_after_an_export_is_a_new_contents_list(
    client: TestClient, db: Database, routing: Routing, everything: Sample
) -> None:
    before = client.get(f"/incidents/{everything.slug}.json").json()["contents"]
    with db.write() as session:
        publish_update(session, PIO, everything.slug, Draft(body="Crews leaving."), routing=routing)
    after = client.get(f"/incidents/{everything.slug}.json").json()["contents"]
    assert after["count"] == before["count"] + 1 and after["hash"] != before["hash"]


def test_details_stripped_of_their_signatures_cannot_say_anything_else(
    client: TestClient, everything: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Details from before signing are counted apart, not failed; but a signed contents list
    proves their content hashes, so taking the signatures away and changing the title, summary
    and location (at the top of the record too) must not verify."""
    record = client.get(f"/incidents/{everything.slug}.json").json()
    for view in [*record["details_versions"], *record["details_translations"].values()]:
        view["signature"] = None
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 0 and "1 signed contents lists" in said, said  # unchanged: still verifies
    newest = record["details_versions"][-1]
    for field in ("title", "summary", "location"):
        newest["fields"][field] = record[field] = f"Forged {field}"
    record["details_translations"]["es"]["title"] = "Título falso"
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 1, said
    spot = f"incident {everything.slug} details version {newest['version']}"
    assert f"{spot}: its text does not match its content_hash" in said, said
    assert "(es translation): its text does not match its content_hash" in said, said
