"""`console archive export DIR`: the whole public archive as static files that open offline.

For records retention: HTML pages a person can browse from a disk with no server (every
link relative, the stylesheets copied in, no script), the same public records as JSON and
CSV, `keys.json` (the agency's public keys), `audit-head.json` (the audit chain head, signed)
and `manifest.json` with the audit chain head and the SHA-256 of every file. The whole
snapshot is read in one transaction, so it shows one moment of the record, and it is
written to a temporary directory renamed into place at the end: a failed export leaves
nothing that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment

from console.archive_views import base_context
from console.csvfile import csv_text
from console.db import Database
from console.domain import archive, exports, history, rumors
from console.domain.canonical import canonical_json, sha256_hex
from console.domain.media import published_files
from console.keyset import KeySet, KeySetError
from console.languages import Languages
from console.models import utcnow
from console.settings import Settings
from console.signed_head import sign_head
from console.templating import make_templates

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STYLESHEETS = ("css/public.css", "css/archive.css")
BATCH = 100
# 2: manifest.json is signed (`signature`), so a snapshot with a record taken out and the
# manifest rewritten to match no longer verifies.
MANIFEST_FORMAT = "incident-console/archive-snapshot/2"


def manifest_digest(manifest: dict[str, Any]) -> str:
    """What a manifest's `signature` signs: the SHA-256 of its canonical JSON without it."""
    return sha256_hex(canonical_json({key: value for key, value in manifest.items() if key != "signature"}))


class SnapshotError(Exception):
    pass


@dataclass(frozen=True)
class SnapshotSummary:
    directory: Path
    incidents: int
    versions: int
    audit_head: dict[str, Any]

    def describe(self) -> str:
        return (
            f"archive snapshot written to {self.directory}: {self.incidents} incidents, "
            f"{self.versions} versions, audit head event {self.audit_head['event']} "
            f"({self.audit_head['hash']}); open {self.directory / 'index.html'}"
        )


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.digests: dict[str, str] = {}

    def write(self, relative: str, content: str | bytes) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.digests[relative] = hashlib.sha256(data).hexdigest()

    def stream(self, relative: str) -> _Stream:
        return _Stream(self, relative)


class _Stream:
    """A file written piece by piece (archive.jsonl), hashed as it goes."""

    def __init__(self, writer: _Writer, relative: str) -> None:
        self.writer, self.relative = writer, relative
        self.hasher = hashlib.sha256()
        self.handle = (writer.root / relative).open("wb")

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.hasher.update(data)
        self.handle.write(data)

    def close(self) -> None:
        self.handle.close()
        self.writer.digests[self.relative] = self.hasher.hexdigest()


def _csv(rows: list[list[str]]) -> str:
    return csv_text(rows, exports.HISTORY_CSV_COLUMNS)


def _page(env: Environment, name: str, depth: int, context: dict[str, Any]) -> str:
    return env.get_template(name).render(base_context(snapshot=True, depth=depth, extra=context))


def _target(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise SnapshotError(f"{directory} already exists and is not an empty directory; name a new one")


def export_snapshot(
    db: Database, settings: Settings, directory: Path, *, now: datetime | None = None
) -> SnapshotSummary:
    _target(directory)
    try:  # the snapshot carries the agency's public keys and a signed head: it proves itself offline
        keys = KeySet.load(settings.signing_key_file)
    except KeySetError as exc:
        raise SnapshotError(str(exc)) from exc
    now = now or utcnow()
    env = make_templates(settings).env
    partial = directory.parent / f".{directory.name}.partial-{secrets.token_hex(4)}"
    partial.mkdir(parents=True)
    try:
        summary = _export(db, settings, env, _Writer(partial), now, keys)
        _target(directory)  # nobody wrote there meanwhile
        if directory.exists():
            directory.rmdir()
        os.replace(partial, directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return SnapshotSummary(directory, summary[0], summary[1], summary[2])


def _export(
    db: Database, settings: Settings, env: Environment, out: _Writer, now: datetime, keys: KeySet
) -> tuple[int, int, dict[str, Any]]:
    stamp = now.isoformat()
    incidents = versions = 0
    with db.read() as session:
        exports.read_consistently(session)
        head = exports.audit_head(session)
        common = {"head": head, "exported_at": now}
        jsonl = out.stream("archive.jsonl")
        after_id = 0
        while batch := exports.incidents_after(session, after_id, BATCH):
            after_id = batch[-1].id
            for record in exports.public_records(session, batch, languages=Languages(settings.languages)):
                slug = record["slug"]
                export = exports.export_record(
                    record, head=head, exported_at=stamp, signing=None, signer=keys
                )
                out.write(f"incidents/{slug}.json", json.dumps(export, ensure_ascii=False, indent=2) + "\n")
                jsonl.write(json.dumps(export, ensure_ascii=False) + "\n")
                record_history = history.incident_history(session, slug)
                out.write(f"incidents/{slug}/history.csv", _csv(exports.history_rows(record_history, head)))
                out.write(
                    f"incidents/{slug}/history.html",
                    _page(env, "archive/history.html", 2, {**common, "history": record_history}),
                )
                incidents += 1
                versions += record_history.version_count
            session.expunge_all()  # memory stays flat: nothing of a written batch is kept
        jsonl.close()
        listing = archive.archive_page(
            session, archive.ArchiveFilter(), page=1, zone=settings.zone, per_page=max(incidents, 1)
        )
        index = {**common, "result": listing, "where": archive.ArchiveFilter(), "errors": {}, "form": {}}
        out.write("index.html", _page(env, "archive/index.html", 0, index))
        total = history.corrections_page(session, page=1, per_page=1).total
        log = history.corrections_page(session, page=1, per_page=max(total, 1))
        out.write("corrections.html", _page(env, "archive/corrections.html", 0, {**common, "result": log}))
        rumor_responses = rumors.rumor_entries(session)
        for entry in rumor_responses:
            out.write(f"rumors/{entry.rumor.id}.json", exports.rumor_document(entry.view()))
        images = published_files(session)
    for name in images:
        try:
            data = (settings.media_dir / name).read_bytes()
        except OSError as exc:
            raise SnapshotError(f"image {name} of a published version is not in MEDIA_DIR: {exc}") from exc
        out.write(f"media/{name}", data)  # its SHA-256 in the manifest is its name
    for name in STYLESHEETS:
        out.write(f"static/{name}", (STATIC_DIR / name).read_bytes())
    signed = sign_head(keys, head["event"], head["hash"], now).view()
    out.write("keys.json", json.dumps(keys.jwks(), ensure_ascii=False, indent=2) + "\n")
    out.write("audit-head.json", json.dumps(signed, ensure_ascii=False, indent=2) + "\n")
    manifest = {
        "format": MANIFEST_FORMAT,
        "exported_at": stamp,
        "audit_head": head,
        "signed_audit_head": signed,
        "incidents": incidents,
        "versions": versions,
        "rumor_responses": len(rumor_responses),
        "images": len(images),
        "files": dict(sorted(out.digests.items())),
    }
    signature = keys.sign(manifest_digest(manifest).encode("utf-8"))
    manifest["signature"] = {"kid": signature.kid, "alg": "EdDSA", "value": signature.value}
    out.write("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return incidents, versions, head
