"""Uploading an image as POST /api/v1/media does, without the web layer."""

from __future__ import annotations

from datetime import UTC, datetime

from console.db import Database
from console.domain.media import record_upload
from console.media import store
from console.media.images import reencode
from console.settings import Settings
from tests.conftest import PIO


def store_upload(
    db: Database, settings: Settings, data: bytes, content_type: str, *, now: datetime | None = None
) -> tuple[int, bytes]:
    """The media id of the uploaded image (uploaded at `now`), and the bytes stored for it."""
    image = reencode(data, content_type)
    hashes = [store.save(settings.media_dir, each) for each in (image.original, *image.variants)]
    with db.write() as session:
        media = record_upload(session, PIO, image, hashes, now=now or datetime.now(UTC))
        return media.id, image.original.data
