"""The `archive` channel: writes each incident's complete public record as a JSON file (and each
rumor response's, under `rumors/`).

The files in ARCHIVE_DIR are a copy of the public record outside the database, written
atomically (temporary file, fsync, rename) so a reader never sees half a file. An incident's
file holds byte for byte what `GET /incidents/{slug}.json` serves (`exports.record_document`),
deliveries included: it is written on the channel's own delivery and again once the outcomes
of deliveries of that incident are recorded (`delivery_recorded`, called by the dispatcher):
the channel's background work rewrites each such incident OUTCOMES_SETTLE_SECONDS after the
first outcome asks, so the outcomes of one publication on every channel share one rewrite,
and the dispatcher's `drain` rewrites at once. Each write renders the whole incident from
the database, so a repeat is harmless, and a file never goes back to an older state (see
`_write_newer`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from console.channels.base import Outcome, RetryLater, Sent
from console.db import Database
from console.domain import exports
from console.domain.events import ChannelEvent, RumorPublished
from console.domain.outbox import Claim
from console.domain.rumors import rumor_record
from console.files import write_atomically
from console.languages import Languages
from console.models import EventType
from console.settings import Settings
from console.signed_head import signing_links

log = logging.getLogger("console.channels.archive")

# One publication's deliveries settle on every channel within about a second of each other
# (after the residents' push). A rewrite renders the whole incident, deliveries included: one
# per outcome took a third of a web process's CPU while it pushed to residents, and grew with
# the incident (issue 20). The file shows an outcome this long after it is recorded, at most.
OUTCOMES_SETTLE_SECONDS = 1.0


class ArchiveChannel:
    name: ClassVar[str] = "archive"
    accepts: ClassVar[frozenset[EventType]] = frozenset(EventType)
    ordered: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(
        self,
        db: Database,
        directory: Path,
        languages: Languages | None = None,
        public_url: str = "",
        *,
        settle_seconds: float = OUTCOMES_SETTLE_SECONDS,
    ) -> None:
        self.db = db
        self.directory = directory
        self.languages = languages
        self.signing = signing_links(public_url)
        # Deliveries of several lanes finish at once: each rewrite reads the database and writes
        # the file under this lock, so the last one to run wrote the newest state (two reads
        # of states with the same `exported_at` could otherwise land in either order).
        self._writing = threading.Lock()
        # Incidents with an outcome recorded that no rewrite has read yet.
        self._asked: set[str] = set()
        self._asking = threading.Lock()
        self.settle_seconds = settle_seconds
        self._outcome: asyncio.Event | None = None  # made in run_background's event loop

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> ArchiveChannel:
        return cls(db, settings.archive_dir, Languages(settings.languages), settings.public_url)

    def path_for(self, incident_slug: str) -> Path:
        return self.directory / "incidents" / f"{incident_slug}.json"

    def rumor_path_for(self, rumor_id: int) -> Path:
        return self.directory / "rumors" / f"{rumor_id}.json"

    def _write(self, event: ChannelEvent) -> Path:
        if isinstance(event, RumorPublished):  # a rumor response: its own file, every version
            with self.db.read() as session:
                record = rumor_record(session, event.rumor_id)
            path = self.rumor_path_for(event.rumor_id)
            write_atomically(path, exports.rumor_document(record))
            return path
        return self._write_incident(event.incident_slug)

    def _write_incident(self, slug: str) -> Path:
        path = self.path_for(slug)
        with self._writing:
            with self._asking:
                self._asked.discard(slug)  # an outcome recorded from now on asks again
            with self.db.read() as session:
                record = exports.public_record(
                    session, slug, signing=self.signing, signer=self.db.signer, languages=self.languages
                )
            _write_newer(path, record)
        return path

    async def delivery_recorded(self, event: ChannelEvent) -> None:
        """A delivery of `event` (on any channel) changed state: the incident's file shows
        deliveries too, so it is written again, by the background work (or `drain`)."""
        if isinstance(event, RumorPublished):
            return
        with self._asking:
            self._asked.add(event.incident_slug)
        if self._outcome is not None:
            self._outcome.set()

    async def run_background(self) -> None:
        self._outcome = asyncio.Event()
        while True:
            await self._outcome.wait()
            await asyncio.sleep(self.settle_seconds)  # the publication's other outcomes join
            self._outcome.clear()
            await self.drain_background()

    def stop_background(self) -> None:
        pass  # a rewrite replaces its file whole: cancelling one loses nothing

    async def drain_background(self) -> bool:
        """Rewrite now every incident with an outcome no rewrite has read; False if none."""
        with self._asking:
            slugs = sorted(self._asked)
        for slug in slugs:
            try:
                await asyncio.to_thread(self._write_incident, slug)
            except OSError as exc:  # the next outcome, or this channel's retry, writes it
                log.warning("could not refresh the archive file of %s: %s", slug, exc)
            except Exception:  # the database is down: likewise, and the dispatcher goes on
                log.exception("could not refresh the archive file of %s", slug)
        return bool(slugs)

    async def deliver(self, claim: Claim) -> Outcome:
        try:
            path = await asyncio.to_thread(self._write, claim.event)
        except OSError as exc:  # disk full, permissions: the previous file is still intact
            raise RetryLater(f"could not write the archive file: {exc.strerror or exc}") from exc
        return Sent(detail=str(path))


def _write_newer(path: Path, record: dict[str, Any]) -> None:
    """Write `record` unless the file already holds it, or a later state of the incident (two
    workers can finish in either order: the older never replaces the newer)."""
    content = exports.record_document(record)
    try:
        kept = path.read_bytes()
    except FileNotFoundError:
        kept = None
    if kept is not None:
        if kept == content:
            return
        try:
            kept_at = datetime.fromisoformat(json.loads(kept)["exported_at"])
            if kept_at > datetime.fromisoformat(record["exported_at"]):
                return
        except (ValueError, KeyError, TypeError):
            pass  # not JSON (a half-restored file): replace it
    write_atomically(path, content)
