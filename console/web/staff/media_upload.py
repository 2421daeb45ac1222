"""POST /console/media: an image uploaded from the compose form (htmx, multipart, the CSRF token
in htmx's header). It is stored as POST /api/v1/media stores it, and answered with the form
fields that attach it to the update: its id, a thumbnail and the alt text box (issue 18)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain.errors import InvalidInput
from console.domain.media import ALT_MAX, record_upload
from console.media import store
from console.models import utcnow
from console.web.access import Access, access
from console.web.jsonio import BadRequest
from console.web.media import decode, read_upload, save_files
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import Form
from console.web.staff.rendering import render
from console.web.state import app_state

UPLOAD_PATH = "/console/media"


@dataclass(frozen=True)
class ComposeImage:
    """An image attached in the compose form: carried through the review step as form fields."""

    id: int
    url: str
    alt: str = ""


def compose_images(form: Form) -> list[ComposeImage]:
    """The `media_id`, `media_url` and `media_alt` fields of the compose form, in order."""
    ids, urls, alts = (
        [value if isinstance(value, str) else "" for value in form.data.getlist(name)]
        for name in ("media_id", "media_url", "media_alt")
    )
    found = []
    for index, raw in enumerate(ids):
        alt = alts[index] if index < len(alts) else ""
        url = urls[index] if index < len(urls) else ""
        if not store.NAME.match(url.removeprefix(store.URL_PREFIX)):
            url = ""  # shown as a thumbnail only: never a URL the form was given from elsewhere
        if raw.isascii() and raw.isdigit() and len(raw) < 12:
            found.append(ComposeImage(int(raw), url, alt.replace("\r\n", "\n")))
    return found


def alt_errors(images: list[ComposeImage]) -> dict[str, str]:
    """What the review step says before the service checks again: alt text is required."""
    errors = {}
    for index, image in enumerate(images):
        alt = image.alt.strip()
        if not alt:
            errors[f"media[{index}].alt"] = "is required: describe the image for people who cannot see it"
        elif len(alt) > ALT_MAX:
            errors[f"media[{index}].alt"] = f"must be at most {ALT_MAX:,} characters"
    return errors


@access(Access.PUBLISHER, STAFF)
async def upload_image(request: Request, viewer: Viewer) -> Response:
    state = app_state(request)
    try:
        data, content_type = await read_upload(request, state.settings.media_max_bytes)
        image = await decode(data, content_type)
    except InvalidInput as exc:
        return _answer(request, viewer, None, "; ".join(exc.fields.values()), 422)
    except BadRequest as exc:
        return _answer(request, viewer, None, exc.message, 413 if exc.status == 413 else 400)
    hashes = await save_files(state.settings.media_dir, image)

    def work(session: Session) -> ComposeImage:
        media = record_upload(session, viewer.actor, image, hashes, now=utcnow())
        return ComposeImage(media.id, store.url_path(media.sha256, media.extension))

    return _answer(request, viewer, await state.write(work), None, 200)


def _answer(
    request: Request, viewer: Viewer, image: ComposeImage | None, problem: str | None, status: int
) -> Response:
    context = {"image": image, "problem": problem}
    return render(
        request,
        "console/media_upload.html",
        context,
        viewer=viewer,
        status_code=status,
        block="item",
        block_alone=True,
    )
