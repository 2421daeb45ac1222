"""Images in the exports (issue 18): the snapshot copies every published image and lists its
SHA-256 in the manifest, its pages show them from the snapshot's own files, and `console
verify` recomputes the hash of a version with images from the JSON and from history.csv."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import lxml.html
import pytest

from console.cli import main
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.media import MediaDraft
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.keyset import KeyFile
from console.settings import Settings
from console.verification import verify_paths
from tests.conftest import PIO
from tests.support.images import photo_with_gps, png
from tests.support.media import store_upload


@pytest.fixture
def published(settings: Settings, db: Database, routing: Routing) -> tuple[str, bytes]:
    photo_id, photo = store_upload(db, settings, photo_with_gps(), "image/jpeg")
    store_upload(db, settings, png(), "image/png")  # uploaded, never published: not exported
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=routing)
        publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="Smoke.", media=(MediaDraft(photo_id, "Smoke, over the bridge"),)),
            routing=routing,
        )
        return incident.slug, photo


def test_the_snapshot_carries_the_images_and_their_hashes(
    settings: Settings,
    published: tuple[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slug, photo = published
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("MEDIA_DIR", str(settings.media_dir))
    target = tmp_path / "snapshot"
    assert main(["archive", "export", str(target)]) == 0

    name = f"media/{hashlib.sha256(photo).hexdigest()}.jpg"
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["images"] == 1
    assert manifest["files"][name] == hashlib.sha256(photo).hexdigest()
    assert (target / name).read_bytes() == photo
    assert sorted(p.name for p in (target / "media").iterdir()) == [name.removeprefix("media/")]

    page = target / f"incidents/{slug}/history.html"
    (img,) = lxml.html.fromstring(page.read_text()).xpath("//div[@class='update__images']/img")
    assert img.get("src") == f"../../{name}" and (page.parent / img.get("src")).resolve().is_file()
    assert img.get("alt") == "Smoke, over the bridge" and img.get("srcset") is None

    rows = list(csv.DictReader(io.StringIO((target / f"incidents/{slug}/history.csv").read_text())))
    assert json.loads(rows[0]["media"]) == [
        {"sha256": hashlib.sha256(photo).hexdigest(), "alt": "Smoke, over the bridge"}
    ]
    report = verify_paths([target], KeyFile(settings.signing_key_file).keys)
    assert report.ok, report.problems
    assert report.checked["versions"] >= 3  # the JSON, archive.jsonl and history.csv


def test_a_changed_alt_text_in_history_csv_fails_verification(
    settings: Settings, published: tuple[str, bytes], tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from console.web.app import create_app

    slug, _ = published
    with TestClient(create_app(settings)) as client:
        text = client.get(f"/incidents/{slug}/history.csv").text
    keys = KeyFile(settings.signing_key_file).keys
    good, bad = tmp_path / "history.csv", tmp_path / "history-changed.csv"
    good.write_text(text)
    bad.write_text(text.replace("Smoke, over the bridge", "Nothing to see"))
    assert verify_paths([good], keys).ok
    assert not verify_paths([bad], keys).ok
