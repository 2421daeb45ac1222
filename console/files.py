"""Files that readers outside the console pick up (the archive, the feeds): written so that
no reader ever sees half a file, and a failed write leaves the previous file intact."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

# Filesystems without hard links (some network and FUSE mounts) answer link() with these.
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def _staged(path: Path, content: bytes, mode: int | None) -> Path:
    """A complete, fsynced copy of `content` in a temporary file beside `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:  # temporary files start as 0600
            os.chmod(temporary, mode)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_atomically(path: Path, content: bytes, *, mode: int | None = None) -> None:
    """Write a temporary file beside `path`, fsync it, then rename it over `path`."""
    temporary = _staged(path, content, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, content: bytes, *, mode: int | None = None) -> bool:
    """Write `content` atomically unless the file already holds exactly it; True if written.

    An unchanged file keeps its modification time, so HTTP validators and caches stay valid."""
    try:
        if path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    write_atomically(path, content, mode=mode)
    return True


def create_atomically(path: Path, content: bytes, *, mode: int | None = None) -> bool:
    """Put `content` at `path` only if nothing is there yet, not even a file another process
    wrote meanwhile; True if this call created it."""
    temporary = _staged(path, content, mode)
    try:
        os.link(temporary, path)  # unlike rename, link never replaces an existing file
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        if path.exists():
            return False
        os.replace(temporary, path)
        return True
    finally:
        temporary.unlink(missing_ok=True)
