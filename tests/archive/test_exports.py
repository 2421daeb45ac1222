"""Exports of the public record: /incidents/{slug}.json, /archive.jsonl, history.csv and the
offline snapshot of `console archive export`. Round trip: export, parse, and find the same
versions with the same hashes, which anyone can recompute from the exported fields."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from sqlalchemy import select
from starlette.testclient import TestClient

from console.channels.registry import routing
from console.cli import main
from console.db import Database
from console.domain.audit import chain_head
from console.domain.outbox import Routing
from console.domain.records import incident_record
from console.domain.updates import content_hash
from console.keyset import KeyFile, create_key_file
from console.models import EventType, Incident, Update, UpdateVersion, VersionKind
from console.settings import Settings
from tests.archive.conftest import T0, Sample, make_incident, publish_history
from tests.archive.support import deliver_everything
from tests.conftest import KEYS_SINCE, POSTGRES_URL, empty_postgres, settings_for
from tests.support.browser import screenshot


def stored_versions(db: Database) -> dict[tuple[str, int, int], str]:
    """(slug, seq, version) -> content hash, as the database holds them."""
    with db.read() as session:
        rows = session.execute(
            select(Update.incident_id, Update.seq, UpdateVersion.version, UpdateVersion.content_hash).join(
                Update, UpdateVersion.update_id == Update.id
            )
        )
        slugs = {
            incident_id: slug for incident_id, slug in session.execute(select(Incident.id, Incident.slug))
        }
        return {(slugs[incident_id], seq, number): digest for incident_id, seq, number, digest in rows}


def exported_versions(records: list[dict[str, Any]]) -> dict[tuple[str, int, int], str]:
    found = {}
    for record in records:
        for update in record["updates"]:
            for version in update["versions"]:
                found[(record["slug"], update["seq"], version["version"])] = version["content_hash"]
    return found


def recomputed_hash(slug: str, seq: int, version: dict[str, Any]) -> str:
    """What an outsider computes from an export alone (the recipe in the README)."""
    row = UpdateVersion(
        version=version["version"],
        kind=VersionKind(version["kind"]),
        headline=version["headline"],
        body=version["body"],
        preliminary=version["preliminary"],
        reason=version["reason"],
        author_name=version["author"],
        published_at=datetime.fromisoformat(version["published_at"]),
    )
    return content_hash(slug, seq, row)


def test_incident_json_is_the_public_record_with_deliveries_and_the_audit_head(
    settings: Settings, db: Database, client: TestClient, sample: Sample
) -> None:
    deliver_everything(settings, db)
    response = client.get(f"/incidents/{sample.slug}.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    record = response.json()
    with db.read() as session:
        public = incident_record(session, sample.slug, internal=False)
        seq, digest = chain_head(session)
    assert record["format"] == "incident-console/public-record/1"
    assert record["audit_head"] == {"event": seq, "hash": digest}
    datetime.fromisoformat(record["exported_at"])
    assert record["signing"] == {
        "keys": f"{settings.public_url}/.well-known/incident-console/keys.json",
        "audit_head": f"{settings.public_url}/audit/head.json",
    }
    export_only = ("format", "audit_head", "exported_at", "signing", "contents")
    without = {k: v for k, v in record.items() if k not in export_only}
    routed = routing(settings).channels_for(EventType.VERSION_PUBLISHED)
    for update in without["updates"]:
        for version in update["versions"]:
            deliveries = version.pop("deliveries")
            assert {d["channel"] for d in deliveries} == set(routed)
            for d in deliveries:  # social channels run in preview here: skipped, never delivered
                assert d["state"] == ("skipped" if d["channel"] in ("x", "mastodon") else "sent")
                assert bool(d["delivered_at"]) is (d["state"] == "sent")
            assert set(deliveries[0]) == {
                "channel",
                "state",
                "delivered_at",
                "external_id",
                "external_url",
                "posts",
                "translation",
            }
            assert {d["translation"] for d in deliveries} == {None}, "no translation was added later"
    assert without == public


def test_every_exported_hash_can_be_recomputed_from_the_export(client: TestClient, sample: Sample) -> None:
    record = client.get(f"/incidents/{sample.slug}.json").json()
    versions = [(u["seq"], v) for u in record["updates"] for v in u["versions"]]
    assert len(versions) == 6
    for seq, version in versions:
        assert recomputed_hash(record["slug"], seq, version) == version["content_hash"]


def test_unknown_incident_exports_are_404(client: TestClient) -> None:
    for path in ("/incidents/nothing.json", "/incidents/nothing/history.csv"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_archive_jsonl_holds_every_incident_read_in_batches(
    db: Database, routing: Routing, client: TestClient
) -> None:
    slugs = [make_incident(db, routing, f"Incident {n}", at=T0 + timedelta(minutes=n)) for n in range(130)]
    publish_history(db, routing)
    with client.stream("GET", "/archive.jsonl") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert "etag" in response.headers, "built once per change, served as bytes (test_export_cache)"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert [r["slug"] for r in lines] == [*slugs, "gas-leak-on-elm-st"], (
        "every incident once, in creation order"
    )
    assert len({json.dumps(r["audit_head"]) for r in lines}) == 1, "one head: where the export started"
    assert exported_versions(lines) == stored_versions(db)


def test_history_csv_has_one_row_per_version(
    settings: Settings, db: Database, client: TestClient, sample: Sample
) -> None:
    deliver_everything(settings, db)
    response = client.get(f"/incidents/{sample.slug}/history.csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="{sample.slug}-history.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["seq"], r["version"], r["kind"]) for r in rows] == [
        ("1", "1", "original"),
        ("1", "2", "correction"),
        ("1", "3", "confirmation"),
        ("2", "1", "original"),
        ("2", "2", "retraction"),
        ("3", "1", "original"),
    ]
    correction = rows[1]
    assert correction["reason"] == "Wrong street named" and correction["labels"] == "CORRECTION PRELIMINARY"
    assert correction["body"] == "Residents of Elm St are evacuated." and correction["preliminary"] == "true"
    reached = dict(part.split(": ", 1) for part in correction["deliveries"].split("; "))
    assert set(reached) == set(routing(settings).channels_for(EventType.VERSION_PUBLISHED))
    for channel, outcome in reached.items():  # social channels run in preview here
        assert re.fullmatch("skipped" if channel in ("x", "mastodon") else r"sent \S+", outcome), outcome
    with db.read() as session:
        seq, digest = chain_head(session)
    assert {(r["audit_head_event"], r["audit_head_hash"]) for r in rows} == {(str(seq), digest)}
    exported = {(sample.slug, int(r["seq"]), int(r["version"])): r["content_hash"] for r in rows}
    assert exported == stored_versions(db)


@dataclass(frozen=True)
class Exported:
    """`console archive export` of a record, and what its database held when it was made."""

    directory: Path
    settings: Settings
    stored_versions: dict[tuple[str, int, int], str]
    chain_head: tuple[int, str]


@pytest.fixture(scope="module")
def exported(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """Three incidents, delivered, exported: made once for this module's tests of the snapshot,
    which only read it, in a database of its own (a copy of the migrated template; with
    PostgreSQL, the worker's database, emptied first) and with settings as `settings` makes them."""
    root = tmp_path_factory.mktemp("snapshot-record")
    key_file = root / "keys" / "signing-key.pem"
    key_file.parent.mkdir()
    create_key_file(key_file, now=KEYS_SINCE)
    if POSTGRES_URL:
        empty_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        with (
            closing(sqlite3.connect(migrated_template)) as template,
            closing(sqlite3.connect(root / "console.db")) as target,
        ):
            template.backup(target)
        url = f"sqlite:///{root / 'console.db'}"
    settings = settings_for(url, root, key_file)
    db = Database(url, signer=KeyFile(key_file))
    try:
        publish_history(db, routing(settings), title="Gas leak on Elm St")
        publish_history(db, routing(settings), title="Water main break", at=T0 + timedelta(days=2))
        make_incident(db, routing(settings), "Quiet one", at=T0 + timedelta(days=3))
        deliver_everything(settings, db)
        target = root / "snapshot"
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("DATABASE_URL", settings.database_url)
            monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
            assert main(["archive", "export", str(target)]) == 0
        with db.read() as session:
            head = chain_head(session)
        yield Exported(target, settings, stored_versions(db), head)
    finally:
        db.dispose()


@pytest.fixture
def snapshot(exported: Exported, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The snapshot, with `console` pointed at the database it was made from."""
    monkeypatch.setenv("DATABASE_URL", exported.settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(exported.settings.signing_key_file))
    return exported.directory


def test_snapshot_round_trip_gives_the_same_versions_and_hashes(exported: Exported, snapshot: Path) -> None:
    records = [json.loads(p.read_text()) for p in sorted((snapshot / "incidents").glob("*.json"))]
    lines = [json.loads(line) for line in (snapshot / "archive.jsonl").read_text().splitlines()]
    assert exported_versions(records) == exported_versions(lines) == exported.stored_versions
    for record in records:
        for update in record["updates"]:
            for version in update["versions"]:
                assert recomputed_hash(record["slug"], update["seq"], version) == version["content_hash"]
    manifest = json.loads((snapshot / "manifest.json").read_text())
    seq, digest = exported.chain_head
    assert manifest["audit_head"] == {"event": seq, "hash": digest} == records[0]["audit_head"]
    assert (manifest["incidents"], manifest["versions"]) == (3, 13)
    files = {str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, sha in manifest["files"].items():
        assert hashlib.sha256((snapshot / name).read_bytes()).hexdigest() == sha, name


def test_snapshot_pages_link_only_to_files_inside_it(exported: Exported, snapshot: Path) -> None:
    settings = exported.settings
    pages = sorted(snapshot.rglob("*.html"))
    assert {str(p.relative_to(snapshot)) for p in pages} >= {
        "index.html",
        "corrections.html",
        "incidents/gas-leak-on-elm-st/history.html",
    }
    for page in pages:
        content = page.read_text()
        assert "<script" not in content and settings.public_url not in content
        for link in re.findall(r'(?:href|src)="([^"]*)"', content):
            if link.startswith("https://"):  # a post on a social network, never our server
                continue
            assert not link.startswith(("/", "http:")), (page, link)
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_file() and snapshot.resolve() in target.parents, (page, link)
    history = (snapshot / "incidents/gas-leak-on-elm-st/history.html").read_text()
    assert 'href="../../static/css/archive.css"' in history
    assert "Residents of <del>Oak</del><ins>Elm</ins> St are evacuated." in history
    # whose record this is and where to call, offline too (issue 18)
    assert settings.agency_name in history and settings.agency_contact in history
    assert "In an emergency, call 911." in history


def test_snapshot_refuses_a_directory_that_is_not_empty(
    snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in snapshot.iterdir())
    assert main(["archive", "export", str(snapshot)]) == 1
    assert "is not an empty directory" in capsys.readouterr().err
    assert sorted(p.name for p in snapshot.iterdir()) == before
    assert not [p for p in snapshot.parent.iterdir() if ".partial-" in p.name]


def test_snapshot_opens_offline_in_a_browser(snapshot: Path, own_page: Page) -> None:
    page = own_page
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((snapshot / "index.html").as_uri())
    assert page.locator(".archive-entry").count() == 3
    page.get_by_role("link", name="Gas leak on Elm St").first.click()
    assert page.url.endswith("incidents/gas-leak-on-elm-st/history.html")
    removed = page.locator("#update-1-v2 del").first
    assert removed.inner_text() == "Oak"
    assert "line-through" in removed.evaluate("el => getComputedStyle(el).textDecorationLine")
    screenshot(page, "archive-snapshot-history")
    page.get_by_role("link", name="Corrections").click()
    assert page.locator(".correction").count() == 4
    assert all(url.startswith("file://") for url in requests), requests
