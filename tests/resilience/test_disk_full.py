"""Disk full while the feeds are written: the delivery records the error and is retried, the
previous feed files stay intact, and once there is space again the feeds are written.

The feeds directory is a tiny tmpfs filled to the last byte (a real ENOSPC from the kernel)
when the tests may mount one (root); otherwise the file layer is made to fail the way a full
disk does (ENOSPC at fsync)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from console.db import Database
from console.models import DeliveryState
from console.settings import Settings
from tests.security.support import ApiClient
from tests.social.conftest import Lane
from tests.support.factories import make_token
from tests.support.live_server import serve

pytestmark = pytest.mark.slow  # fills a disk


class SmallDisk:
    """A 2 MB filesystem that can be filled up and freed again."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        self.monkeypatch = monkeypatch
        self.mounted = False
        self.filler = path / "filler"

    def mount(self) -> SmallDisk:
        if os.geteuid() == 0:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(self.path)],
                capture_output=True,
            )
            self.mounted = done.returncode == 0
        return self

    def fill(self) -> None:
        if not self.mounted:

            def disk_full(fd: int) -> None:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            self.monkeypatch.setattr("console.files.os.fsync", disk_full)
            return
        with open(self.filler, "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        with contextlib.suppress(OSError), open(self.filler, "ab") as handle:  # the last bytes too
            while True:
                handle.write(b"\0")
                handle.flush()

    def free(self) -> None:
        if self.mounted:
            self.filler.unlink()
        else:
            self.monkeypatch.undo()

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    path = Path(tempfile.mkdtemp(prefix="feeds-", dir=tmp_path))
    disk = SmallDisk(path, monkeypatch).mount()
    try:
        yield disk
    finally:
        disk.unmount()


def files_in(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != "filler"
    }


def test_disk_full_while_writing_feeds_keeps_the_old_files_and_retries_until_there_is_space(
    settings: Settings, db: Database, small_disk: SmallDisk
) -> None:
    settings = replace(
        settings,
        channels=("live", "feeds"),
        feeds_dir=small_disk.path,
        outbox_poll_seconds=0.05,
        outbox_backoff_base_seconds=0.2,
        outbox_backoff_max_seconds=0.4,
    )
    feeds = Lane(replace(settings, channels=("feeds",)), db)  # reads the feeds channel's deliveries
    token = make_token(db, "pio")
    with serve(settings) as server:
        client = ApiClient(server.url, token)
        slug = client.post("/incidents", {"title": "Chemical fire"})["slug"]
        client.post(f"/incidents/{slug}/updates", {"body": "Shelter in place east of the river."})
        settled(feeds, 2)
        before = files_in(small_disk.path)
        assert f"incidents/{slug}/feed.atom" in before

        small_disk.fill()
        started = time.monotonic()
        answer = client.post(f"/incidents/{slug}/updates", {"body": "Smoke is drifting north."})
        assert time.monotonic() - started < 2, "publishing does not wait for the disk"
        # pending again after each failure: retried with backoff, never given up
        failing = wait_for(
            feeds, lambda d: d.state is DeliveryState.PENDING and d.attempts >= 3, "three failed attempts"
        )
        assert failing.last_error == "could not write the feed files: No space left on device"
        assert files_in(small_disk.path) == before, "every previous feed file is intact"
        assert not list(small_disk.path.rglob(".*.tmp")), "no half-written temporary file is left"

        small_disk.free()
        freed = time.monotonic()
        written = wait_for(feeds, lambda d: d.state is DeliveryState.SENT, "the write after space returned")
        recovered = time.monotonic() - freed
    atom = (small_disk.path / "incidents" / slug / "feed.atom").read_bytes()
    assert b"Smoke is drifting north." in atom and b"Shelter in place east of the river." in atom
    assert (small_disk.path / "incidents" / slug / "cap" / f"{answer['seq']}-1.xml").is_file()
    print(
        f"\ndisk full ({'tmpfs filled' if small_disk.mounted else 'ENOSPC injected'}): "
        f"{written.attempts - 1} failed attempts recorded, "
        f"feeds written {recovered:.1f} s after space returned"
    )


def settled(lane: Lane, count: int) -> None:
    deadline = time.monotonic() + 15
    while [d.state for d in lane.deliveries()] != [DeliveryState.SENT] * count:
        assert time.monotonic() < deadline, [(d.state, d.last_error) for d in lane.deliveries()]
        time.sleep(0.05)


def wait_for(lane: Lane, condition, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while True:
        last = lane.deliveries()[-1]
        if condition(last):
            return last
        assert time.monotonic() < deadline, f"no {what}: {last.state} {last.attempts} {last.last_error}"
        time.sleep(0.05)
