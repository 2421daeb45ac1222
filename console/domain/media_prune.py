"""Uploads never attached to a version, removed once a grace period has passed (issue 18,
`console media prune`): an image uploaded for an update that was never published holds space
and may show what was not meant to be published.

Only rows are removed here, in the caller's transaction; the files the removed rows named are
returned for the caller to delete once that transaction is committed (a rollback then leaves
every file of a surviving row in place)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from console.domain import approval, audit
from console.domain.actors import Actor
from console.domain.errors import PermissionDenied
from console.media import store
from console.media_models import MediaFile, VersionMedia
from console.models import PendingVersion

DEFAULT_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class PrunedUpload:
    media_id: int
    sha256: str
    uploaded_at: datetime
    files: tuple[str, ...]  # the upload's file and its narrower copies', as removed


@dataclass(frozen=True)
class Pruned:
    uploads: tuple[PrunedUpload, ...]

    @property
    def files(self) -> list[str]:
        """Every file to delete under MEDIA_DIR once the removal is committed."""
        return [name for upload in self.uploads for name in upload.files]


def media_in_use() -> Select[tuple[int]]:
    """The ids of the uploads a version shows: the database's own guard (migration
    `i18_media_prune`) refuses to delete these too."""
    return select(VersionMedia.media_id)


def media_waiting(session: Session) -> set[int]:
    """The ids of the uploads a pending version names (stored as JSON with it): kept, whatever
    its state, so what an approver saw, or an author got back, never loses its images."""
    return {
        item["id"]
        for pending in session.scalars(select(PendingVersion).where(PendingVersion.media.is_not(None)))
        for item in approval.media_of(pending) or []
    }


def prune_uploads(
    session: Session, actor: Actor, *, older_than: timedelta = DEFAULT_GRACE, now: datetime
) -> Pruned:
    """Remove every upload uploaded before `now - older_than` that no version uses, with its
    narrower copies; one `media.pruned` audit event lists them."""
    if not actor.can_manage_accounts:
        raise PermissionDenied("only an admin may remove uploads")
    cutoff = now - older_than
    orphans = session.execute(
        select(MediaFile.id, MediaFile.sha256, MediaFile.extension, MediaFile.created_at)
        .where(
            MediaFile.variant_of_id.is_(None),
            MediaFile.created_at < cutoff,
            MediaFile.id.not_in(media_in_use()),
        )
        .order_by(MediaFile.id)
    ).all()
    waiting = media_waiting(session)
    orphans = [row for row in orphans if row.id not in waiting]
    if not orphans:
        return Pruned(())
    ids = [row.id for row in orphans]
    copies = session.execute(
        select(MediaFile.id, MediaFile.variant_of_id, MediaFile.sha256, MediaFile.extension).where(
            MediaFile.variant_of_id.in_(ids)
        )
    ).all()
    # Copies first: each names its upload.
    session.execute(delete(MediaFile).where(MediaFile.id.in_([copy.id for copy in copies])))
    session.execute(delete(MediaFile).where(MediaFile.id.in_(ids)))
    removed = {row.sha256 for row in orphans} | {copy.sha256 for copy in copies}
    # Files are named by their content: one that a remaining row still names stays.
    still_named = set(session.scalars(select(MediaFile.sha256).where(MediaFile.sha256.in_(removed))))
    uploads = []
    for row in orphans:
        named = [(row.sha256, row.extension)]
        named += [(copy.sha256, copy.extension) for copy in copies if copy.variant_of_id == row.id]
        files = tuple(store.file_name(sha, ext) for sha, ext in named if sha not in still_named)
        uploads.append(PrunedUpload(row.id, row.sha256, row.created_at, files))
    audit.record(
        session,
        actor,
        "media.pruned",
        f"{len(uploads)} uploads never attached",
        now=now,
        data={
            "older_than_hours": older_than.total_seconds() / 3600,
            "uploads": [{"media_id": upload.media_id, "sha256": upload.sha256} for upload in uploads],
        },
    )
    return Pruned(tuple(uploads))
