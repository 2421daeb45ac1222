"""/archive.jsonl is built once per change of the archive and served as bytes with an ETag,
gzipped once when the client takes gzip; a publication or a delivery invalidates it; two web
processes (two apps on one database) serve the same bytes under the same ETag. Feeds are
gzipped once per file version."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain.outbox import Routing
from console.settings import Settings
from console.web import exports as web_exports
from console.web import feeds as web_feeds
from console.web.app import create_app
from tests.archive.conftest import T0, make_incident, publish_history
from tests.archive.support import deliver_everything

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}  # the test client asks for gzip unless told otherwise


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times /archive.jsonl was built (each entry: its size in bytes)."""
    counted: list[int] = []
    real = web_exports.build_archive_jsonl

    async def counting(state: web_exports.AppState, version: object) -> bytes:
        body = await real(state, version)  # type: ignore[arg-type]
        counted.append(len(body))
        return body

    monkeypatch.setattr(web_exports, "build_archive_jsonl", counting)
    return counted


@pytest.fixture
def second_process(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as other:
        yield other


def test_the_archive_is_built_once_per_change_and_served_as_bytes(
    settings: Settings, db: Database, routing: Routing, client: TestClient, builds: list[int]
) -> None:
    publish_history(db, routing)
    first = client.get("/archive.jsonl", headers=PLAIN)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/x-ndjson")
    etag = first.headers["etag"]
    assert first.headers["vary"] == "Accept-Encoding"
    for _ in range(5):
        again = client.get("/archive.jsonl", headers=PLAIN)
        assert again.content == first.content and again.headers["etag"] == etag
    assert client.get("/archive.jsonl", headers={**PLAIN, "If-None-Match": etag}).status_code == 304
    zipped = client.get("/archive.jsonl", headers=GZIP)
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["etag"] == etag[:-1] + '-gzip"'
    assert zipped.content == first.content  # httpx decodes it
    assert (
        client.get("/archive.jsonl", headers={**GZIP, "If-None-Match": zipped.headers["etag"]}).status_code
        == 304
    )
    assert len(builds) == 1, "one build for every request above"

    # a publication is a change: the next request builds again, once
    make_incident(db, routing, "Water main", at=T0 + timedelta(hours=1))
    changed = client.get("/archive.jsonl", headers=PLAIN)
    assert changed.headers["etag"] != etag and b"water-main" in changed.content
    client.get("/archive.jsonl", headers=PLAIN)
    assert client.get("/archive.jsonl", headers={**PLAIN, "If-None-Match": etag}).status_code == 200
    assert len(builds) == 2

    # so is a delivery: its state is in the records
    deliver_everything(settings, db)
    delivered = client.get("/archive.jsonl", headers=PLAIN)
    assert delivered.headers["etag"] != changed.headers["etag"] and len(builds) == 3
    lines = [json.loads(line) for line in delivered.text.splitlines()]
    states = {d["state"] for r in lines for u in r["updates"] for v in u["versions"] for d in v["deliveries"]}
    assert "pending" not in states


def test_every_web_process_serves_the_same_bytes_under_the_same_etag(
    db: Database, routing: Routing, client: TestClient, second_process: TestClient, builds: list[int]
) -> None:
    publish_history(db, routing)
    one, other = (
        client.get("/archive.jsonl", headers=PLAIN),
        second_process.get("/archive.jsonl", headers=PLAIN),
    )
    assert one.content == other.content and one.headers["etag"] == other.headers["etag"]
    assert len(builds) == 2, "each process builds once"
    # exported_at is the time of the last change, not of the request
    exported = {json.loads(line)["exported_at"] for line in one.text.splitlines()}
    assert len(exported) == 1
    assert (
        client.get("/archive.jsonl", headers={**PLAIN, "If-None-Match": other.headers["etag"]}).status_code
        == 304
    )


def test_feeds_are_gzipped_once_per_file_version(
    settings: Settings,
    db: Database,
    routing: Routing,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish_history(db, routing)
    deliver_everything(settings, db)
    compressed: list[int] = []
    real = web_feeds.gzip_body

    def counting(body: bytes) -> bytes:
        compressed.append(len(body))
        return real(body)

    monkeypatch.setattr(web_feeds, "gzip_body", counting)
    plain = client.get("/feeds/updates.atom", headers=PLAIN)
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    for _ in range(5):
        zipped = client.get("/feeds/updates.atom", headers=GZIP)
        assert zipped.headers["content-encoding"] == "gzip" and zipped.content == plain.content
        assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
        assert int(zipped.headers["content-length"]) < len(plain.content), "the length of the gzipped bytes"
    assert compressed == [len(plain.content)], "compressed once, not per request"
    again = client.get("/feeds/updates.atom", headers={**GZIP, "If-None-Match": zipped.headers["etag"]})
    assert again.status_code == 304 and again.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(real(plain.content)) == plain.content


def test_an_incident_export_is_gzipped_once_per_content_and_revalidates(
    db: Database, routing: Routing, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = publish_history(db, routing)
    compressed: list[int] = []
    real = web_exports.gzip_body

    def counting(body: bytes) -> bytes:
        compressed.append(len(body))
        return real(body)

    monkeypatch.setattr(web_exports, "gzip_body", counting)
    for path in (f"/incidents/{sample.slug}.json", f"/incidents/{sample.slug}/history.csv"):
        plain = client.get(path, headers=PLAIN)
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        for _ in range(4):
            zipped = client.get(path, headers=GZIP)
            assert zipped.headers["content-encoding"] == "gzip" and zipped.content == plain.content
            assert zipped.headers["vary"] == "Accept-Encoding"
        assert client.get(path, headers={**PLAIN, "If-None-Match": plain.headers["etag"]}).status_code == 304
    assert len(compressed) == 2, "each export compressed once, not per request"
    make_incident(db, routing, "Water main", at=T0 + timedelta(hours=1))  # moves the audit head
    client.get(f"/incidents/{sample.slug}/history.csv", headers=GZIP)
    assert len(compressed) == 3, "the CSV names the audit head: a new content, compressed once"
