"""Images (issue 18): `POST /api/v1/media` takes one image (multipart, field `file`), re-encodes
it (console.media.images) and stores it by its hash; `GET /media/{sha256}.{ext}` serves it.

The body is read in chunks and refused with 413 as soon as it passes MEDIA_MAX_BYTES (plus room
for the multipart framing), before any of it is parsed or decoded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain.actors import Actor
from console.domain.errors import InvalidInput
from console.domain.media import record_upload, upload_view
from console.media import store
from console.media.images import ImageRefused, Reencoded, reencode
from console.models import utcnow
from console.web.access import Access, access
from console.web.bearer import TOKEN
from console.web.jsonio import BadRequest
from console.web.state import app_state

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 16 * 1024
MEDIA_PATH = "/api/v1/media"
# Text fields besides the file are refused by name (422); more than this many is malformed (400).
MAX_FIELDS = 10
# A file's name is its hash: it never changes, so any cache may keep it for a year.
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
# Decoding is memory-heavy (up to MAX_PIXELS * 4 bytes): at most this many at once per process,
# in threads of their own. Uploads waiting for their turn wait in this pool's queue: none holds
# a thread of the event loop's default pool, which resolves push and webhook hosts and sends
# residents' confirmation emails and codes (a few threads on a small server).
DECODERS = 2
DECODING = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="media-decode")


def upload_limit(media_max_bytes: int) -> int:
    """The largest multipart body an upload may be (BodySizeLimitMiddleware lets it through)."""
    return media_max_bytes + MULTIPART_OVERHEAD


def _too_large(limit: int) -> BadRequest:
    return BadRequest(413, "too_large", f"the image is over MEDIA_MAX_BYTES ({limit:,} bytes)")


async def read_upload(request: Request, media_max_bytes: int) -> tuple[bytes, str]:
    """The bytes and declared content type of the multipart field `file`."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "multipart/form-data":
        await request.body()  # counted against MAX_REQUEST_BYTES (413), as every API body is
        raise BadRequest(
            415, "unsupported_media_type", "send the image as multipart/form-data (field `file`)"
        )
    limit = upload_limit(media_max_bytes)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(media_max_bytes)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(media_max_bytes)
        chunks.append(chunk)

    async def body() -> AsyncGenerator[bytes, None]:
        yield b"".join(chunks)

    try:
        form = await MultiPartParser(request.headers, body(), max_files=1, max_fields=MAX_FIELDS).parse()
    except MultiPartException as exc:
        raise BadRequest(
            400, "malformed_multipart", f"the multipart body is malformed: {exc.message}"
        ) from None
    errors = {name: "is not a known field (known: file)" for name in form if name != "file"}
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        errors["file"] = "is required: the image, as a file part"
    if errors or not isinstance(upload, UploadFile):
        await form.close()
        raise InvalidInput(errors)
    data = await upload.read()
    await form.close()
    if len(data) > media_max_bytes:
        raise _too_large(media_max_bytes)
    return data, (upload.content_type or "").partition(";")[0].strip().lower()


async def decode(data: bytes, content_type: str) -> Reencoded:
    try:
        return await asyncio.get_running_loop().run_in_executor(DECODING, reencode, data, content_type)
    except ImageRefused as exc:
        raise InvalidInput({"file": str(exc)}) from None


async def save_files(media_dir: Path, image: Reencoded) -> list[str]:
    """Store the upload and its variants; their SHA-256s, the upload's first."""
    files = [image.original, *image.variants]
    return await asyncio.to_thread(lambda: [store.save(media_dir, encoded) for encoded in files])


@access(Access.PUBLISHER, TOKEN)
async def upload_media(request: Request, actor: Actor) -> Response:
    state = app_state(request)
    data, content_type = await read_upload(request, state.settings.media_max_bytes)
    image = await decode(data, content_type)
    hashes = await save_files(state.settings.media_dir, image)

    def work(session: Session) -> dict[str, Any]:
        return upload_view(record_upload(session, actor, image, hashes, now=utcnow()))

    body = await state.write(work)
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


@access(Access.PUBLIC)
async def media_file(request: Request) -> Response:
    name = f"{request.path_params['sha256']}.{request.path_params['ext']}"
    found = store.stored_file(app_state(request).settings.media_dir, name)
    if found is None:
        return Response("No such image.", status_code=404, media_type="text/plain")
    path, content_type = found
    return FileResponse(path, media_type=content_type, headers=IMMUTABLE)


def api_routes() -> list[BaseRoute]:
    return [Route("/media", upload_media, methods=["POST"])]


def routes() -> list[BaseRoute]:
    return [Route(store.URL_PREFIX + "{sha256}.{ext}", media_file, methods=["GET", "HEAD"])]
