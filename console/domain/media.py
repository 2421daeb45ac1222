"""Images of update versions (issue 18): recording an upload, checking the `media` a new version
names, and what every channel shows of a version's images."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import audit
from console.domain.actors import Actor, require_publisher
from console.domain.incidents import ID_MAX
from console.domain.text import clean
from console.media import store
from console.media.images import Encoded, Reencoded
from console.media_models import MediaFile, VersionMedia

ALT_MAX = 1000
MEDIA_MAX_PER_VERSION = 4  # what X and Mastodon attach to one post


@dataclass(frozen=True)
class MediaDraft:
    """One `media` item of a new version: an uploaded image and its alt text."""

    media_id: int
    alt: str


@dataclass(frozen=True)
class CheckedMedia:
    media: MediaFile
    alt: str


def _row(
    encoded: Encoded, sha256: str, actor: Actor, now: datetime, variant_of: MediaFile | None
) -> MediaFile:
    return MediaFile(
        sha256=sha256,
        sha1=hashlib.sha1(encoded.data, usedforsecurity=False).hexdigest(),
        content_type=encoded.content_type,
        extension=encoded.extension,
        width=encoded.width,
        height=encoded.height,
        size_bytes=len(encoded.data),
        variant_of=variant_of,
        uploaded_by_id=actor.user_id,
        created_at=now,
    )


def record_upload(
    session: Session, actor: Actor, image: Reencoded, hashes: Sequence[str], *, now: datetime
) -> MediaFile:
    """The row of an upload whose files (`image.original`, then each variant) are stored under
    `hashes`; the row already there when the same image was uploaded before."""
    require_publisher(actor)
    existing = session.scalar(select(MediaFile).where(MediaFile.sha256 == hashes[0]))
    if existing is not None:
        return existing
    original = _row(image.original, hashes[0], actor, now, None)
    session.add(original)
    known = set(session.scalars(select(MediaFile.sha256).where(MediaFile.sha256.in_(hashes[1:]))))
    for encoded, sha256 in zip(image.variants, hashes[1:], strict=True):
        if sha256 not in known:
            session.add(_row(encoded, sha256, actor, now, original))
    session.flush()
    audit.record(
        session,
        actor,
        "media.uploaded",
        f"media {original.id}",
        now=now,
        data={
            "media_id": original.id,
            "sha256": original.sha256,
            "width": original.width,
            "height": original.height,
        },
    )
    return original


def clean_alt(alt: str, *, errors: dict[str, str], field: str) -> str | None:
    """An image's alt text by the rules of every typed text (`text.clean`: no control characters;
    invisible characters alone are blank), 1 to ALT_MAX characters; None, with what is wrong in
    `errors[field]`, when it will not do."""
    before = len(errors)
    text = clean(alt, max_chars=ALT_MAX, required=False, errors=errors, field=field)
    if text is None and field not in errors:
        errors[field] = "is required: describe the image for people who cannot see it"
    return text if len(errors) == before else None


def check_media(session: Session, drafts: Sequence[MediaDraft], errors: dict[str, str]) -> list[CheckedMedia]:
    """The images a new version names, each uploaded and with alt text of 1 to ALT_MAX characters
    (what is wrong goes into `errors` under `media[i].<field>`)."""
    if len(drafts) > MEDIA_MAX_PER_VERSION:
        errors["media"] = f"may hold at most {MEDIA_MAX_PER_VERSION} images"
        return []
    # An id no row can have is not looked up: the database would refuse the query (a 500).
    possible = [d.media_id for d in drafts if 1 <= d.media_id <= ID_MAX]
    found = {row.id: row for row in session.scalars(select(MediaFile).where(MediaFile.id.in_(possible)))}
    checked = []
    for index, draft in enumerate(drafts):
        alt = clean_alt(draft.alt, errors=errors, field=f"media[{index}].alt")
        media = found.get(draft.media_id)
        if media is None or media.variant_of_id is not None:
            errors[f"media[{index}].id"] = f"there is no uploaded image {draft.media_id}"
        elif alt is not None:
            checked.append(CheckedMedia(media, alt))
    return checked


def attach(session: Session, version_id: int, items: Sequence[CheckedMedia]) -> None:
    for position, item in enumerate(items):
        session.add(
            VersionMedia(version_id=version_id, position=position, media_id=item.media.id, alt=item.alt)
        )


def hashed_media(items: Iterable[CheckedMedia | VersionMedia]) -> list[dict[str, str]]:
    """What a version's content hash covers of its images: each file's hash and its alt text."""
    return [{"sha256": item.media.sha256, "alt": item.alt} for item in items]


def media_of(session: Session, version_ids: Sequence[int]) -> dict[int, list[VersionMedia]]:
    """The images of each version, in order, by version id (versions without: absent)."""
    found: dict[int, list[VersionMedia]] = {}
    if not version_ids:
        return found
    query = (
        select(VersionMedia)
        .where(VersionMedia.version_id.in_(version_ids))
        .order_by(VersionMedia.version_id, VersionMedia.position)
    )
    for row in session.scalars(query):
        found.setdefault(row.version_id, []).append(row)
    return found


def variants_of(session: Session, media_ids: Sequence[int]) -> dict[int, list[MediaFile]]:
    """The narrower copies of each upload, narrowest first."""
    found: dict[int, list[MediaFile]] = {}
    if not media_ids:
        return found
    query = select(MediaFile).where(MediaFile.variant_of_id.in_(media_ids)).order_by(MediaFile.width)
    for row in session.scalars(query):
        assert row.variant_of_id is not None
        found.setdefault(row.variant_of_id, []).append(row)
    return found


@dataclass(frozen=True)
class Picture:
    """One image as a page shows it: `<img src srcset width height alt>`."""

    url: str
    width: int
    height: int
    alt: str
    srcset: str  # every stored width, "url 480w, ..., url 1200w"; "" when there is one
    sha256: str  # of the file at `url`: with `alt`, what the version's content hash covers


def alts_fit(pictures: tuple[Picture, ...], alts: Sequence[str] | None) -> bool:
    """A translation's alt text replaces the pictures' own: one for each."""
    return alts is not None and len(alts) == len(pictures)


def with_alts(pictures: tuple[Picture, ...], alts: Sequence[str] | None) -> tuple[Picture, ...]:
    """`pictures` with a translation's alt text (None, or a list that does not fit: as they are)."""
    if alts is None or not alts_fit(pictures, alts):
        return pictures
    return tuple(replace(picture, alt=alt) for picture, alt in zip(pictures, alts, strict=True))


def pictures(items: Iterable[VersionMedia]) -> tuple[Picture, ...]:
    found = []
    for item in items:
        media = item.media
        files = sorted([*media.variants, media], key=lambda each: each.width)
        srcset = ", ".join(f"{store.url_path(f.sha256, f.extension)} {f.width}w" for f in files)
        url = store.url_path(media.sha256, media.extension)
        srcset = srcset if len(files) > 1 else ""
        found.append(Picture(url, media.width, media.height, item.alt, srcset, media.sha256))
    return tuple(found)


def published_files(session: Session) -> list[str]:
    """The file names (`<sha256>.<ext>`) of every image a published version shows, sorted."""
    rows = session.execute(
        select(MediaFile.sha256, MediaFile.extension).join(
            VersionMedia, VersionMedia.media_id == MediaFile.id
        )
    )
    return sorted({store.file_name(sha256, extension) for sha256, extension in rows})


def file_view(media: MediaFile) -> dict[str, Any]:
    return {
        "url": store.url_path(media.sha256, media.extension),
        "content_type": media.content_type,
        "width": media.width,
        "height": media.height,
        "size": media.size_bytes,
        "sha256": media.sha256,
    }


def media_view(item: VersionMedia) -> dict[str, Any]:
    """One image of a version, as the API, exports and feeds show it."""
    return {"id": item.media_id, "alt": item.alt, **file_view(item.media)}


def upload_view(media: MediaFile) -> dict[str, Any]:
    """The answer to POST /api/v1/media."""
    return {"id": media.id, **file_view(media)}
