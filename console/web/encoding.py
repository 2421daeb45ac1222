"""Content coding: whether a client takes gzip, and gzip made once per body.

Compressed bodies are deterministic (no file name, mtime 0), so every process that
compresses the same bytes sends the same bytes under the same ETag."""

from __future__ import annotations

import gzip

from starlette.datastructures import Headers

COMPRESS_LEVEL = 6


def accepts_gzip(headers: Headers) -> bool:
    """Accept-Encoding names gzip (or `*`) with a quality above 0."""
    for part in headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=")
            try:
                return not params or float(quality) > 0
            except ValueError:
                return False
    return False


def gzip_body(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=COMPRESS_LEVEL, mtime=0)


def gzip_etag(etag: str) -> str:
    """The ETag of the gzipped representation of the body tagged `etag` (a strong tag)."""
    return f'{etag[:-1]}-gzip"'
