"""The small interface a social network's client offers the delivery steps, and its errors.

Each client (X through tweepy, Mastodon through Mastodon.py) maps its library's exceptions
to these, so the rules for retrying, pausing and double-post checks are written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import requests
import urllib3.exceptions

from console.domain.post_runs import TextRules


@dataclass(frozen=True)
class Posted:
    id: str
    url: str


@dataclass(frozen=True)
class Attachment:
    """An image to attach to a post, with its alt text (issue 18): a file under MEDIA_DIR."""

    file_name: str  # <sha256>.<ext>
    content_type: str
    alt: str

    def path(self, media_dir: Path) -> Path:
        return media_dir / self.file_name


class SocialError(Exception):
    """A request failed; the subclass says what that means for the post."""


class NotSent(SocialError):
    """Certainly not posted (refused before or without acting): try again later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unknown(SocialError):
    """The request went out and no clear answer came back: the post may exist.

    `check_now`: look for it straight away (a timeout: the network is up); otherwise the
    next attempt looks before sending again (a 5xx: do not press a struggling service).
    """

    def __init__(self, message: str, *, check_now: bool) -> None:
        super().__init__(message)
        self.check_now = check_now


class AuthRejected(SocialError):
    """The credentials, the app or the account may not post: no retry can fix this."""


class Duplicate(SocialError):
    """The network refused the text because the account already posted it."""


class ReplyGone(SocialError):
    """The post this one replies to was deleted or cannot be replied to."""


class Rejected(SocialError):
    """This request is refused for good (bad request, not found, no access to a lookup)."""


class Network(Protocol):
    label: str  # "X", "Mastodon": for messages people read

    def rules(self) -> TextRules: ...

    def post(self, text: str, reply_to: str | None, key: str, images: Sequence[Attachment] = ()) -> Posted:
        """Post `text` (replying to `reply_to`) with `images` attached, each with its alt text."""
        ...

    def find(self, text: str, since: datetime) -> Posted | None:
        """The account's post with exactly this text made since `since`, if any."""
        ...


def read_image(media_dir: Path, image: Attachment) -> bytes:
    try:
        return image.path(media_dir).read_bytes()
    except OSError as exc:  # MEDIA_DIR lost or not mounted: no retry brings the file back
        raise Rejected(f"the image {image.file_name} cannot be read: {exc}") from exc


def before_posting(error: SocialError) -> SocialError:
    """A failed image upload: whatever happened to the upload, the post was not sent."""
    if isinstance(error, Unknown):
        return NotSent(f"{error} (uploading an image; nothing was posted)")
    return error


def transport_error(label: str, exc: BaseException) -> SocialError:
    """A `requests` failure: did the request leave this machine? Only then is the post in doubt."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NotSent(f"{label} did not accept a connection in time")
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return NotSent(f"could not connect to {label}: {exc}")
    if isinstance(exc, requests.exceptions.Timeout):
        return Unknown(f"{label} did not answer in time after the request was sent", check_now=True)
    return Unknown(f"the connection to {label} failed while the request was under way: {exc}", check_now=True)


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # MaxRetryError wraps the cause
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError)
