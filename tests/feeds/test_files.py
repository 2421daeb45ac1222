"""The `feeds` channel writes the files once per publish, atomically; the app serves exactly
those bytes with strong validators and answers conditional requests with 304."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import stat
import threading
import time
from dataclasses import replace
from datetime import timedelta
from email.utils import formatdate
from types import SimpleNamespace
from typing import Any

import feedparser
import pytest
from lxml import etree
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.dispatcher import RetryPolicy
from console.domain.outbox import Routing
from console.feeds import cap
from console.feeds.paths import (
    CAP_INDEX,
    UPDATES_ATOM,
    UPDATES_RSS,
    cap_message,
    incident_atom,
    incident_rss,
)
from console.models import DeliveryState
from console.settings import Settings
from console.web import feeds as feeds_web
from console.web.app import create_app
from console.web.feeds import FeedFile, is_dated
from tests.feeds.conftest import (
    FAST_RETRY,
    AheadClock,
    Sample,
    deliveries,
    drain,
    make_incident,
    publish,
    render,
)


def feed_files(settings: Settings) -> dict[str, bytes]:
    root = settings.feeds_dir
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


def test_the_channel_writes_every_file_and_they_are_what_the_renderer_makes(
    settings: Settings, db: Database, sample: Sample
) -> None:
    drain(settings, db)
    files = feed_files(settings)
    slug, other = sample.slug, sample.other_slug
    assert sorted(files) == sorted(
        [
            "feeds/updates.atom",
            "feeds/updates.rss",
            "feeds/cap.atom",
            f"incidents/{slug}/feed.atom",
            f"incidents/{slug}/feed.rss",
            f"incidents/{slug}/cap/1-1.xml",
            f"incidents/{slug}/cap/1-2.xml",
            f"incidents/{slug}/cap/1-3.xml",
            f"incidents/{slug}/cap/1-4.xml",
            f"incidents/{slug}/cap/2-1.xml",
            f"incidents/{other}/feed.atom",
            f"incidents/{other}/feed.rss",
            f"incidents/{other}/cap/1-1.xml",
        ]
    )
    for target in (UPDATES_ATOM, UPDATES_RSS, CAP_INDEX, incident_rss(slug), cap_message(slug, 1, 4)):
        assert files[target.url_path.lstrip("/")] == render(settings, db, target)
    for path in settings.feeds_dir.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, (
                "a web server running as another user can read it"
            )
    states = {d.state for d in deliveries(db, "feeds")}
    assert states == {DeliveryState.SENT}
    # Each delivery renders the record as it is now: the first one already wrote every feed
    # (the database held all versions by then), and the CAP message of every version the CAP
    # index lists; the later ones find their own CAP message written.
    first, *_, last = deliveries(db, "feeds")
    assert first.detail is not None and "/feeds/updates.atom" in first.detail
    assert f"/incidents/{other}/cap/1-1.xml" in first.detail
    assert last.detail == "wrote nothing; 6 unchanged"
    assert not list(settings.feeds_dir.rglob(".*.tmp")), "no temporary file is left behind"


def test_a_delivery_that_changes_nothing_leaves_the_files_untouched(
    settings: Settings, db: Database, routing: Routing, sample: Sample
) -> None:
    drain(settings, db)
    path = UPDATES_ATOM.file_in(settings.feeds_dir)
    before = path.stat()
    with db.write() as session:  # resolving changes no feed
        from console.domain.incidents import resolve_incident
        from tests.conftest import PIO

        resolve_incident(session, PIO, sample.other_slug, routing=routing)
    drain(settings, db)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert deliveries(db, "feeds")[-1].detail == "wrote nothing; 5 unchanged"


@pytest.fixture
def app(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def test_the_app_serves_the_written_bytes_with_strong_validators(
    settings: Settings, db: Database, sample: Sample, app: TestClient
) -> None:
    drain(settings, db)
    app.headers["Accept-Encoding"] = "identity"  # the file's own bytes (gzip: test_export_cache)
    with app:
        for target in (
            UPDATES_ATOM,
            UPDATES_RSS,
            CAP_INDEX,
            incident_atom(sample.slug),
            cap_message(sample.slug, 1, 2),
        ):
            response = app.get(target.url_path)
            assert response.status_code == 200
            assert response.content == target.file_in(settings.feeds_dir).read_bytes()
            assert response.headers["content-type"] == f"{target.media_type}; charset=utf-8"
            assert response.headers["cache-control"] == "public, max-age=30"
            etag = response.headers["etag"]
            assert etag == f'"{hashlib.sha256(response.content).hexdigest()[:32]}"', (
                "strong: no W/, from the bytes"
            )
        head = app.head(UPDATES_ATOM.url_path)
        assert (
            head.status_code == 200 and head.headers["etag"] == app.get(UPDATES_ATOM.url_path).headers["etag"]
        )


def test_conditional_gets_are_answered_with_304(
    settings: Settings, db: Database, sample: Sample, app: TestClient
) -> None:
    drain(settings, db)
    path = UPDATES_ATOM.file_in(settings.feeds_dir)
    written = time.time() - 120
    os.utime(path, (written, written))
    url = UPDATES_ATOM.url_path
    with app:
        first = app.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert modified == formatdate(int(written), usegmt=True)

        for headers in (
            {"If-None-Match": etag},
            {"If-None-Match": f'"other", W/{etag}'},  # weak comparison, as RFC 9110 says for If-None-Match
            {"If-None-Match": "*"},
            {"If-Modified-Since": modified},
            {"If-Modified-Since": formatdate(time.time(), usegmt=True)},
        ):
            response = app.get(url, headers=headers)
            assert response.status_code == 304, headers
            assert response.content == b""
            assert (
                response.headers["etag"] == etag and response.headers["cache-control"] == "public, max-age=30"
            )

        for headers in (
            {"If-None-Match": '"something-else"'},
            {"If-None-Match": '"something-else"', "If-Modified-Since": modified},  # the ETag decides
            {"If-Modified-Since": formatdate(written - 1, usegmt=True)},
            {"If-Modified-Since": "not a date"},
        ):
            response = app.get(url, headers=headers)
            assert response.status_code == 200 and response.content == first.content, headers


def test_a_new_publication_changes_the_validators_at_once(
    settings: Settings, db: Database, routing: Routing, sample: Sample, app: TestClient
) -> None:
    drain(settings, db)
    url = incident_atom(sample.slug).url_path
    with app:
        etag = app.get(url).headers["etag"]
        publish(db, routing, sample.slug, "Gas is off.", minute=30)
        drain(settings, db)
        response = app.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 200 and response.headers["etag"] != etag
        assert feedparser.parse(response.content).entries[0].title == "PRELIMINARY: Gas is off."


def test_last_modified_is_withheld_until_its_second_is_over(
    settings: Settings, db: Database, sample: Sample, app: TestClient
) -> None:
    """A file rewritten twice in one second must not show two contents under one date."""
    written = 1_773_480_615  # 2026-03-14 09:30:15 UTC
    feed = FeedFile(
        (0, 0, 0, written * 1_000_000_000 + 250_000_000), b"", '"x"', written, "application/atom+xml"
    )
    assert not is_dated(feed, now=written + 0.99), "the same second: the file may change again within it"
    assert is_dated(feed, now=written + 1.0)
    assert feed.response(200, True).headers["last-modified"] == "Sat, 14 Mar 2026 09:30:15 GMT"
    assert "last-modified" not in feed.response(200, False).headers

    drain(settings, db)
    path = UPDATES_RSS.file_in(settings.feeds_dir)
    with app:
        ahead = time.time() + 3  # a clock step: the file looks newer than now
        os.utime(path, (ahead, ahead))
        since = formatdate(time.time() + 10, usegmt=True)
        fresh = app.get(UPDATES_RSS.url_path, headers={"If-Modified-Since": since})
        assert fresh.status_code == 200 and "last-modified" not in fresh.headers and "etag" in fresh.headers
        os.utime(path, (time.time() - 2, time.time() - 2))
        assert "last-modified" in app.get(UPDATES_RSS.url_path).headers


def test_a_missing_file_is_rendered_once_on_request(
    settings: Settings, db: Database, sample: Sample, app: TestClient
) -> None:
    """A fresh install, or files lost: the app renders the file, writes it, and serves it."""
    assert not settings.feeds_dir.exists()
    with app:
        response = app.get(incident_rss(sample.slug).url_path)
        assert response.status_code == 200
        path = incident_rss(sample.slug).file_in(settings.feeds_dir)
        assert response.content == path.read_bytes() == render(settings, db, incident_rss(sample.slug))
        assert incident_atom(sample.slug).file_in(settings.feeds_dir).exists(), "rendered with its sibling"
        inode = path.stat().st_ino
        assert app.get(incident_rss(sample.slug).url_path).content == response.content
        assert path.stat().st_ino == inode, "rendered once, then served from the file"
        cap = app.get(cap_message(sample.slug, 1, 3).url_path)
        assert cap.status_code == 200 and b"<msgType>Update</msgType>" in cap.content


def test_a_missing_file_that_cannot_be_written_is_a_clear_503(
    settings: Settings, db: Database, sample: Sample, app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("console.files.os.fsync", disk_full)
    with app:
        response = app.get(UPDATES_ATOM.url_path)
        assert response.status_code == 503 and response.headers["retry-after"] == "30"
        # as every 503 of this server: a cache in front must not keep the refusal for 30 s
        assert response.headers["cache-control"] == "no-store"
        assert (
            response.text == "the feed file could not be written (No space left on device); try again shortly"
        )
        monkeypatch.undo()
        assert app.get(UPDATES_ATOM.url_path).status_code == 200


def test_unknown_feeds_are_404_with_a_clear_message(
    settings: Settings, db: Database, sample: Sample, app: TestClient
) -> None:
    with app:
        for path, message in (
            ("/incidents/no-such-thing/feed.atom", "no incident at this address"),
            ("/incidents/Not_A_Slug/feed.rss", "no incident at this address"),
            ("/incidents/../feed.rss", None),
            (f"/incidents/{sample.slug}/cap/1-9.xml", "this incident has no update 1 version 9"),
            (f"/incidents/{sample.slug}/cap/7-1.xml", "this incident has no update 7 version 1"),
            (f"/incidents/{sample.slug}/cap/1-1-r0.xml", "no feed or CAP message at this address"),
        ):
            response = app.get(path)
            assert response.status_code == 404, path
            if message:
                assert response.text == message
    assert not (settings.feeds_dir / "incidents" / "no-such-thing").exists()


def test_another_spelling_of_a_cap_address_is_sent_to_the_one_address(
    settings: Settings, db: Database, sample: Sample, app: TestClient
) -> None:
    """01-1.xml names the message 1-1.xml names: one message, one address (aggregators and
    caches key on it), so the others are permanent redirects to it."""
    with app:
        canonical = f"/incidents/{sample.slug}/cap/1-1.xml"
        for spelling in ("01-1.xml", "1-01.xml", "001-0001.xml"):
            response = app.get(f"/incidents/{sample.slug}/cap/{spelling}", follow_redirects=False)
            assert (response.status_code, response.headers["location"]) == (301, canonical), spelling
        assert app.get(canonical, follow_redirects=False).status_code == 200


def test_feeds_switched_off_are_404(settings: Settings, db: Database, sample: Sample) -> None:
    with TestClient(create_app(replace(settings, channels=("live", "archive")))) as app:
        response = app.get(UPDATES_ATOM.url_path)
    assert response.status_code == 404 and "CHANNELS does not include feeds" in response.text
    assert not settings.feeds_dir.exists()


def test_feeds_rebuild_regenerates_every_file_from_the_database(
    settings: Settings,
    db: Database,
    sample: Sample,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    drain(settings, db)
    by_channel = feed_files(settings)
    for path in list(settings.feeds_dir.rglob("*.xml"))[:3] + [UPDATES_ATOM.file_in(settings.feeds_dir)]:
        path.unlink()
    (settings.feeds_dir / "feeds" / "updates.rss").write_bytes(b"<rss>half a fi")
    kept = CAP_INDEX.file_in(settings.feeds_dir).stat().st_mtime_ns

    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("FEEDS_DIR", str(settings.feeds_dir))
    assert main(["feeds", "rebuild"]) == 0
    assert f"feeds rebuilt in {settings.feeds_dir}: 5 files written, 8 unchanged" in capsys.readouterr().out
    assert feed_files(settings) == by_channel
    assert CAP_INDEX.file_in(settings.feeds_dir).stat().st_mtime_ns == kept, "unchanged files are left alone"


def test_disk_full_fails_the_delivery_keeps_the_previous_files_and_retries(
    settings: Settings, db: Database, routing: Routing, sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    drain(settings, db)
    before = feed_files(settings)
    publish(db, routing, sample.slug, "Crews are venting the building.", minute=40)

    def disk_full(fd: int) -> None:  # the data was written to the temporary file; it cannot be kept
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("console.files.os.fsync", disk_full)
    backoff = RetryPolicy(5, 0.4, 0.4)  # the next attempt comes 0.2 to 0.4 s later
    clock = AheadClock()  # the dispatcher's: moved on past each backoff instead of sleeping it out
    for attempt in (1, 2):
        drain(settings, db, retry=backoff, clock=clock)
        failed = deliveries(db, "feeds")[-1]
        assert (failed.state, failed.attempts) == (DeliveryState.PENDING, attempt), "it will be tried again"
        assert failed.last_error == "could not write the feed files: No space left on device"
        clock.ahead += timedelta(seconds=0.45)
    assert feed_files(settings) == before, "every previous file is intact"
    assert not list(settings.feeds_dir.rglob(".*.tmp"))

    monkeypatch.undo()  # space was freed
    drain(settings, db, retry=FAST_RETRY, clock=clock)
    assert (deliveries(db, "feeds")[-1].state, deliveries(db, "feeds")[-1].attempts) == (
        DeliveryState.SENT,
        3,
    )
    assert (
        b"Crews are venting the building."
        in incident_atom(sample.slug).file_in(settings.feeds_dir).read_bytes()
    )


def test_no_reader_ever_sees_a_partial_file(settings: Settings, db: Database, routing: Routing) -> None:
    slug = make_incident(db, routing, "Flood")
    publish(db, routing, slug, "Water rising.", minute=1)
    drain(settings, db)
    path = UPDATES_ATOM.file_in(settings.feeds_dir)
    stop = threading.Event()
    reads: list[int] = []
    failures: list[str] = []

    def hammer() -> None:
        while not stop.is_set():
            try:
                content = path.read_bytes()
                entries = etree.fromstring(content).findall("{http://www.w3.org/2005/Atom}entry")
                reads.append(len(entries))
            except Exception as exc:  # a partial or missing file
                failures.append(repr(exc))

    reader = threading.Thread(target=hammer)
    reader.start()
    published = 1
    try:  # at least 40 rewrites, and on until the reader has read plenty of them
        while published < 41 or (len(reads) < 300 and published < 300):
            published += 1
            publish(db, routing, slug, f"Water level report {published}. " * 40, minute=published)
            drain(settings, db)
    finally:
        stop.set()
        reader.join(10)
    assert failures == []
    assert len(reads) >= 300 and reads == sorted(reads), (
        "complete files only, each at least as new as the last"
    )
    assert reads[-1] == published


def test_clients_of_a_changed_feed_share_one_read_of_it(
    settings: Settings, db: Database, routing: Routing, sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flash crowd polling a feed that was just rewritten costs one read, not one each: the
    first client waits for it, those who come meanwhile get the version before it (issue 20)."""
    drain(settings, db)
    reads: list[str] = []
    real_read = feeds_web.read_feed_file

    def slow_counted_read(path: str, media_type: str) -> FeedFile | None:
        reads.append(path)
        time.sleep(0.05)  # long enough for every request below to arrive meanwhile
        return real_read(path, media_type)

    monkeypatch.setattr(feeds_web, "read_feed_file", slow_counted_read)
    server = feeds_web.FeedServer()
    scope = {
        "type": "http",
        "method": "GET",
        "path": UPDATES_ATOM.url_path,
        "headers": [],
        "state": {"app_state": SimpleNamespace(settings=settings)},
    }
    on_disk = settings.feeds_dir / UPDATES_ATOM.url_path.lstrip("/")

    async def crowd() -> list[Response]:
        return await asyncio.gather(*(server.serve(Request(scope), UPDATES_ATOM) for _ in range(50)))

    def bodies(responses: list[Response]) -> list[tuple[int, bytes]]:
        return [(response.status_code, bytes(response.body)) for response in responses]

    # Never read before: every client waits for the one read.
    before = on_disk.read_bytes()
    assert set(bodies(asyncio.run(crowd()))) == {(200, before)} and len(reads) == 1
    assert set(bodies(asyncio.run(crowd()))) == {(200, before)} and len(reads) == 1  # from memory
    publish(db, routing, sample.slug, "Crews are still on site.", minute=40)
    drain(settings, db)
    after = on_disk.read_bytes()
    assert after != before
    first, *meanwhile = bodies(asyncio.run(crowd()))
    assert len(reads) == 2
    assert first == (200, after)  # the first client read the new version
    assert set(meanwhile) == {(200, before)}  # the others did not wait for it
    assert set(bodies(asyncio.run(crowd()))) == {(200, after)} and len(reads) == 2


def test_a_backlog_of_events_renders_each_cap_message_once(
    settings: Settings, db: Database, routing: Routing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events delivered late (after an outage) all find the record as it is now: the CAP index
    of the first lists every update, and each message it lists is rendered then, once, not
    again by each later delivery."""
    slug = make_incident(db, routing, "River flood")
    for n in range(12):
        publish(db, routing, slug, f"Update {n}: levee watch.", minute=n + 1)
    rendered: list[bytes] = []
    render_message = cap.render_message

    def counted(*args: Any, **kwargs: Any) -> bytes:
        rendered.append(render_message(*args, **kwargs))
        return rendered[-1]

    monkeypatch.setattr(cap, "render_message", counted)
    drain(settings, db)
    messages = sorted(settings.feeds_dir.glob(f"incidents/{slug}/cap/*.xml"))
    assert len(messages) == 12
    assert len(rendered) == len(messages)
    assert {d.state for d in deliveries(db, "feeds")} == {DeliveryState.SENT}
