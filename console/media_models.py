"""Images attached to update versions (issue 18). Rows of both tables are never changed: a
file is named by its hash, and a version's images are part of what it published (a different
image is a correction, which is a new version)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from console.models import Base


class MediaFile(Base):
    """One stored image file (MEDIA_DIR/<sha256>.<ext>): an upload, or a narrower copy of one
    for the pages (`variant_of_id` names the upload)."""

    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    sha1: Mapped[str] = mapped_column(String(40))  # CAP 1.2's <digest> is SHA-1
    content_type: Mapped[str] = mapped_column(String(32))
    extension: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    variant_of_id: Mapped[int | None] = mapped_column(ForeignKey("media_files.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column()

    variant_of: Mapped[MediaFile | None] = relationship(remote_side=[id], back_populates="variants")
    # The narrower copies of an upload (none for a copy): each page offers them in `srcset`.
    variants: Mapped[list[MediaFile]] = relationship(
        back_populates="variant_of", order_by="MediaFile.width", lazy="selectin"
    )


class VersionMedia(Base):
    """An image of an update version, in its place, with the alt text published with it."""

    __tablename__ = "version_media"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("update_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    media_id: Mapped[int] = mapped_column(ForeignKey("media_files.id"))
    alt: Mapped[str] = mapped_column(Text)

    media: Mapped[MediaFile] = relationship(lazy="joined")
