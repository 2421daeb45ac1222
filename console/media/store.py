"""Media files under MEDIA_DIR, each named by the SHA-256 of its bytes: `<sha256>.<ext>`.

A name says what the file holds, so a file is written once and never changed (an image that
needs changing is a new file, attached by a correction); the same image uploaded twice is one
file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from console.files import create_atomically
from console.media.images import EXTENSIONS, Encoded

NAME = re.compile(r"^(?P<sha256>[0-9a-f]{64})\.(?P<extension>jpg|png|webp)$")
URL_PREFIX = "/media/"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_name(sha256: str, extension: str) -> str:
    return f"{sha256}.{extension}"


def url_path(sha256: str, extension: str) -> str:
    """Where the file is served (GET /media/{sha256}.{ext})."""
    return f"{URL_PREFIX}{file_name(sha256, extension)}"


def save(media_dir: Path, encoded: Encoded) -> str:
    """Store `encoded` (unless the same bytes are already there); its SHA-256."""
    sha256 = sha256_of(encoded.data)
    path = media_dir / file_name(sha256, encoded.extension)
    if not path.is_file():
        create_atomically(path, encoded.data, mode=0o644)
    return sha256


def remove(media_dir: Path, name: str) -> bool:
    """Delete a stored file no row names any more (`console media prune`); False when it was
    already gone."""
    if NAME.match(name) is None:
        raise ValueError(f"not a media file name: {name!r}")
    try:
        (media_dir / name).unlink()
    except FileNotFoundError:
        return False
    return True


def stored_file(media_dir: Path, name: str) -> tuple[Path, str] | None:
    """The file named `name` (`<sha256>.<ext>`) and its content type, or None."""
    match = NAME.match(name)
    if match is None:
        return None
    path = media_dir / name
    return (path, EXTENSIONS[match["extension"]]) if path.is_file() else None
