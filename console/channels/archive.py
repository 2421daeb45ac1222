"""The `archive` channel: writes each incident's complete public record as a JSON file (and each
rumor response's, under `rumors/`).

The files in ARCHIVE_DIR are a copy of the public record outside the database, written
atomically (temporary file, fsync, rename) so a reader never sees half a file. Each
delivery rewrites the whole incident from the database, so a repeat is harmless.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import ClassVar

from console.channels.base import Outcome, RetryLater, Sent
from console.db import Database
from console.domain.events import ChannelEvent, RumorPublished
from console.domain.outbox import Claim
from console.domain.records import incident_record
from console.domain.rumors import rumor_record
from console.files import write_atomically
from console.languages import Languages
from console.models import EventType
from console.settings import Settings


class ArchiveChannel:
    name: ClassVar[str] = "archive"
    accepts: ClassVar[frozenset[EventType]] = frozenset(EventType)
    ordered: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self, db: Database, directory: Path, languages: Languages | None = None) -> None:
        self.db = db
        self.directory = directory
        self.languages = languages

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> ArchiveChannel:
        return cls(db, settings.archive_dir, Languages(settings.languages))

    def path_for(self, incident_slug: str) -> Path:
        return self.directory / "incidents" / f"{incident_slug}.json"

    def rumor_path_for(self, rumor_id: int) -> Path:
        return self.directory / "rumors" / f"{rumor_id}.json"

    def _write(self, event: ChannelEvent) -> Path:
        with self.db.read() as session:
            if isinstance(event, RumorPublished):  # a rumor response: its own file, every version
                record = rumor_record(session, event.rumor_id)
                path = self.rumor_path_for(event.rumor_id)
            else:
                record = incident_record(
                    session, event.incident_slug, internal=False, languages=self.languages
                )
                path = self.path_for(event.incident_slug)
        content = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        write_atomically(path, content)
        return path

    async def deliver(self, claim: Claim) -> Outcome:
        try:
            path = await asyncio.to_thread(self._write, claim.event)
        except OSError as exc:  # disk full, permissions: the previous file is still intact
            raise RetryLater(f"could not write the archive file: {exc.strerror or exc}") from exc
        return Sent(detail=str(path))
