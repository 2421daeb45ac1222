"""A fake Mastodon: instance configuration, posting with Idempotency-Key, the account's statuses,
and media (issue 18): POST /api/v2/media (multipart `file`, `description` at most 1,500
characters) answered with its `url`, attached by `media_ids[]` (at most 4, uploaded ones).

It requires the bearer token, keeps an idempotency key's status as Mastodon does (the same
key answers the same status), refuses text over the configured limit with 422 (counting a
link as `characters_reserved_per_url`), answers 404 for a reply to a missing status, and
returns statuses as HTML the way Mastodon formats them.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from tests.social.fake_http import Answer, Call, FakeServer, Script

TOKEN = "test-mastodon-token"
ACCOUNT_ID = "109000000000000001"
URL = re.compile(r"https?://\S+")


@dataclass
class Status:
    id: str
    text: str
    in_reply_to: str | None
    visibility: str
    created_at: datetime
    idempotency_key: str | None
    media_ids: tuple[str, ...] = ()


@dataclass
class Media:
    id: str
    data: bytes
    content_type: str
    description: str | None


class FakeMastodon(FakeServer):
    def __init__(self, *, max_characters: int = 500, url_weight: int = 23) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.url_weight = url_weight
        self.statuses: list[Status] = []
        self.posts = Script()  # "ok", ("429", seconds), "503", "401", "create-then-hang", "hang"
        self.lookups = Script()  # "ok", "403"
        self._ids = itertools.count(110_000_000_000_000_001)
        self.media: dict[str, Media] = {}
        self._media_ids = itertools.count(111_000_000_000_000_001)
        self.route("POST", "/api/v2/media", self._authorized(self._upload))
        self.route("GET", "/api/v2/instance", self._instance)
        self.route("POST", "/api/v1/statuses", self._authorized(self._post))
        self.route("GET", "/api/v1/accounts/verify_credentials", self._authorized(self._me))
        self.route("GET", "/api/v1/accounts/*/statuses", self._authorized(self._timeline))

    def add_status(self, text: str, in_reply_to: str | None = None, key: str | None = None) -> Status:
        with self.lock:
            status = Status(str(next(self._ids)), text, in_reply_to, "public", datetime.now(UTC), key)
            self.statuses.append(status)
            return status

    def status(self, status_id: str) -> Status:
        [found] = [s for s in self.statuses if s.id == status_id]
        return found

    def thread(self, first_id: str) -> list[Status]:
        """The status `first_id` and the replies under it, each replying to the one before."""
        with self.lock:
            found = [self.status(first_id)]
            while replies := [s for s in self.statuses if s.in_reply_to == found[-1].id]:
                found.append(replies[0])
            return found

    def length(self, text: str) -> int:
        """Mastodon's count, done independently: each link counts the fixed URL weight."""
        return len(URL.sub("x" * self.url_weight, text))

    def _authorized(self, handler: Any) -> Any:
        def check(call: Call) -> Answer:
            if call.headers.get("authorization") != f"Bearer {TOKEN}":
                return Answer(401, {"error": "The access token is invalid"})
            answer: Answer = handler(call)
            return answer

        return check

    def _instance(self, call: Call) -> Answer:
        return Answer(
            200,
            {
                "domain": "social.example",
                "title": "Example Social",
                "version": "4.3.0",
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A fake instance",
                "configuration": {
                    "urls": {"streaming": "wss://social.example"},
                    "statuses": {
                        "max_characters": self.max_characters,
                        "max_media_attachments": 4,
                        "characters_reserved_per_url": self.url_weight,
                    },
                },
            },
        )

    def attached(self, status: Status) -> list[Media]:
        with self.lock:
            return [self.media[media_id] for media_id in status.media_ids]

    def _upload(self, call: Call) -> Answer:
        parts = call.parts()
        file = parts.get("file")
        description = parts["description"].data.decode() if "description" in parts else None
        if file is None or (description is not None and len(description) > 1500):
            return Answer(422, {"error": "Validation failed: File or description is invalid"})
        with self.lock:
            media = Media(str(next(self._media_ids)), file.data, file.content_type, description)
            self.media[media.id] = media
        return Answer(
            200,
            {
                "id": media.id,
                "type": "image",
                "url": f"{self.url}/system/media/{media.id}",
                "preview_url": f"{self.url}/system/media/{media.id}/small",
                "description": description,
            },
        )

    def _post(self, call: Call) -> Answer:
        fields = call.form()
        form = {k: v[0] for k, v in fields.items()}
        key = call.headers.get("idempotency-key")
        with self.lock:
            known = [s for s in self.statuses if key is not None and s.idempotency_key == key]
        if known:
            return Answer(200, self._json(known[0]))
        step = self.posts.next()
        if isinstance(step, tuple) and step[0] == "429":
            reset = datetime.now(UTC) + timedelta(seconds=step[1])
            return Answer(
                429,
                {"error": "Too many requests"},
                {
                    "X-RateLimit-Reset": reset.isoformat(),
                    "Date": format_datetime(datetime.now(UTC), usegmt=True),
                },
            )
        if step == "503":
            return Answer(503, {"error": "Service Unavailable"})
        if step == "401":
            return Answer(401, {"error": "The access token was revoked"})
        if step == "hang":
            self.hang()
            return Answer(503, {"error": "Service Unavailable"})
        text = form.get("status", "")
        if self.length(text) > self.max_characters:
            return Answer(
                422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}
            )
        reply_to = form.get("in_reply_to_id")
        if reply_to is not None and not any(s.id == reply_to for s in self.statuses):
            return Answer(404, {"error": "Record not found"})
        media_ids = tuple(fields.get("media_ids[]", []))
        if len(media_ids) > 4 or any(media_id not in self.media for media_id in media_ids):
            return Answer(422, {"error": "Validation failed: media_ids are invalid"})
        status = self.add_status(text, reply_to, key)
        status.media_ids = media_ids
        status.visibility = form.get("visibility", "public")
        if step == "create-then-hang":
            self.hang()
        return Answer(200, self._json(status))

    def _me(self, call: Call) -> Answer:
        return Answer(200, self._account())

    def _timeline(self, call: Call) -> Answer:
        if self.lookups.next() == "403":
            return Answer(403, {"error": "This action is not allowed"})
        limit = int(call.query.get("limit", ["20"])[0])
        with self.lock:
            newest_first = list(reversed(self.statuses))[:limit]
        return Answer(200, [self._json(s) for s in newest_first])

    def _account(self) -> dict[str, Any]:
        return {
            "id": ACCOUNT_ID,
            "username": "alerts",
            "acct": "alerts",
            "display_name": "City Alerts",
            "url": f"{self.url}/@alerts",
            "created_at": "2024-01-01T00:00:00.000Z",
        }

    def _json(self, status: Status) -> dict[str, Any]:
        return {
            "id": status.id,
            "created_at": status.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "in_reply_to_id": status.in_reply_to,
            "visibility": status.visibility,
            "uri": f"{self.url}/users/alerts/statuses/{status.id}",
            "url": f"{self.url}/@alerts/{status.id}",
            "content": as_html(status.text),
            "account": self._account(),
        }


def as_html(text: str) -> str:
    """Mastodon's rendering of a plain-text status: escaped, links wrapped in split spans."""

    def link(url: str) -> str:
        scheme, rest = url.split("://", 1)
        return (
            f'<a href="{html.escape(url)}" rel="nofollow noopener" target="_blank">'
            f'<span class="invisible">{scheme}://</span>'
            f'<span class="ellipsis">{html.escape(rest[:30])}</span>'
            f'<span class="invisible">{html.escape(rest[30:])}</span></a>'
        )

    parts, last = [], 0
    for match in URL.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        parts.append(link(match.group()))
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "<p>" + "".join(parts).replace("\n", "<br />") + "</p>"
