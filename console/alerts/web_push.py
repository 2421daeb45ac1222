"""Web Push alerts (RFC 8030): each published version pushed to the browsers that subscribed,
its payload encrypted to the browser's keys (RFC 8291, aes128gcm) and the request signed
with our VAPID key (RFC 8292), with `pywebpush`. A 404 or 410 from the push service means the
browser dropped the subscription: it is unsubscribed (its endpoint deleted). A 429, a 5xx or
an unreachable service is tried again (ATTEMPTS in all, pausing longer each time), as webhooks
are; any other refusal is the delivery's failure.

Endpoints must be https on a public host, both when subscribed and when sent (DNS may
change), unless PUSH_ALLOW_PRIVATE=true. Without VAPID_PRIVATE_KEY the channel is in
preview: deliveries are recorded, nothing is sent.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jinja2 import Environment
from py_vapid import Vapid, Vapid01
from py_vapid.utils import b64urlencode
from pywebpush import WebPushException, webpush

from console.alert_models import AlertChannel
from console.alerts.content import AlertContent
from console.alerts.sender import EventContents, SendChunk
from console.alerts.webhooks import TargetRefused, check_target
from console.domain import fanout, wording
from console.i18n import gettext, in_language, label
from console.models import VersionKind
from console.settings import Settings

# A push message carries at most 4096 bytes (RFC 8030 §7.2); aes128gcm takes an 86-byte header
# and a 17-byte tag and padding delimiter from that.
MAX_PAYLOAD_BYTES = 4096 - 86 - 17
PUSH_TTL_SECONDS = 24 * 60 * 60  # a browser offline longer than this gets no stale alert
ELLIPSIS = "…"
PREVIEW_NOTE = "web push in preview: VAPID_PRIVATE_KEY not set"
ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5


def vapid_key(private_key: str) -> Vapid01:
    """The VAPID key from VAPID_PRIVATE_KEY (base64url, raw 32 bytes or DER, as py-vapid reads)."""
    return Vapid.from_string(private_key)


@functools.cache
def application_server_key(private_key: str) -> str:
    """The public key browsers subscribe with: the uncompressed P-256 point in base64url
    (derived once per key, not on every GET /push/key)."""
    point = vapid_key(private_key).public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return str(b64urlencode(point))


def new_private_key() -> str:
    """A new VAPID private key, as VAPID_PRIVATE_KEY takes it (the raw scalar, base64url)."""
    key = Vapid()
    key.generate_keys()
    number: int = key.private_key.private_numbers().private_value
    return str(b64urlencode(number.to_bytes(32, "big")))


def _fit(text: str, budget: int) -> str:
    """`text` (single-spaced) cut to at most `budget` UTF-8 bytes at a word boundary, with an
    ellipsis."""
    if len(text.encode("utf-8")) <= budget:
        return text
    room = max(budget - len(ELLIPSIS.encode("utf-8")), 0)
    cut = text.encode("utf-8")[:room].decode("utf-8", "ignore")
    if not text[len(cut) : len(cut) + 1].isspace():  # mid-word: back to the word's start
        cut = cut[: cut.rfind(" ")] if " " in cut else ""
    return cut.rstrip() + ELLIPSIS


def payload(content: AlertContent) -> bytes:
    """The notification a service worker shows, in the subscriber's language, within 4 KB.

    Its body is the labels, then what to do, the headline and the text, then why a
    correction was made and, when the text is the primary one because no current translation
    exists, the notice email and SMS add. A retraction says why first, then quotes the text it
    withdrew after "Withdrawn text:", as the email does. Only the middle part (what to do,
    headline, text) is cut to fit, so the labels, the reason and the notice stay whole
    (unless they alone overflow, which only an extreme reason can make). `lang` is the
    language of the text the body carries."""
    retraction = content.kind is VersionKind.RETRACTION
    with in_language(content.requested_lang):
        labels = "".join(f"{label(name)}: " for name in content.labels)
        text = wording.headline_and_body(content.headline, content.body)
        if content.instruction:  # what to do comes first (issue 17)
            text = f"{gettext('What to do:')} {content.instruction} {text}"
        before, after = [], []
        if content.reason and retraction:
            # Why first, then the withdrawn text quoted as such (as the email and the SMS say
            # it): never the withdrawn order on its own, read as one still standing.
            before.append(f"{gettext('Why:')} {wording.sentence(content.reason)}")
        elif content.reason and content.kind is VersionKind.CORRECTION:
            after.append(f"{gettext('Why:')} {content.reason}")
        if retraction:
            before.append(f'{gettext("Withdrawn text")}: "')
        if content.translation_pending:
            after.append(gettext("Translation being updated."))
    text = " ".join(text.split())
    # The withdrawn text's closing quotation mark, kept when the text is cut.
    close = '"' if retraction else ""
    lead = " ".join(" ".join(before).split())
    tail = " ".join(" ".join(after).split())
    message: dict[str, Any] = {
        "title": content.incident_title,
        "body": "",
        "url": content.url,
        "labels": content.labels,
        "lang": content.lang,
        "tag": f"{content.incident_slug}-{content.seq}",  # a correction replaces the notice it corrects
    }

    def body(middle: str) -> str:
        quoted = f"{lead}{middle}{close}" if close else " ".join(part for part in (lead, middle) if part)
        return labels + " ".join(part for part in (quoted, tail) if part)

    def encoded() -> bytes:
        return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    message["body"] = body(text)
    data = encoded()
    if len(data) <= MAX_PAYLOAD_BYTES:
        return data
    message["body"] = body(ELLIPSIS)
    # The text is cut, the labels, reason and notice kept whole; unless they alone do not fit,
    # when only the whole can be cut.
    cut_text = len(encoded()) <= MAX_PAYLOAD_BYTES
    full = text if cut_text else body(text)

    def cut(part: str) -> str:
        return body(part) if cut_text else part

    # The longest cut that fits: JSON escapes make the text's size no guide to the payload's.
    low, high = 0, len(full.encode("utf-8"))
    while low < high:
        budget = (low + high + 1) // 2
        message["body"] = cut(_fit(full, budget))
        if len(encoded()) <= MAX_PAYLOAD_BYTES:
            low = budget
        else:
            high = budget - 1
    message["body"] = cut(_fit(full, low))
    return encoded()


class _NoRedirects(requests.Session):
    """A redirect is an error, never followed: it could lead to a private address. Only the
    status of an answer is used: its body is read only when it declares itself empty (so the
    connection is kept for the next push), never otherwise, so a push service sending a huge or
    trickling body cannot hold a lane or fill the worker's memory."""

    def __init__(self) -> None:
        super().__init__()
        self.max_redirects = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["stream"] = True
        response = super().request(method, url, *args, **kwargs)
        if response.headers.get("Content-Length") == "0":
            response.content  # noqa: B018 (nothing to read: the connection goes back to the pool)
        else:
            response._content = b""  # what pywebpush reads of it
            response.close()
        return response


class WebPushSender:
    """Pushes PUSH_CONCURRENCY at a time, each lane over its own HTTP connection pool."""

    channel: ClassVar[AlertChannel] = AlertChannel.PUSH

    def __init__(self, settings: Settings, *, pause: float = RETRY_PAUSE_SECONDS) -> None:
        self.settings = settings
        self.pause = pause
        self.lanes = settings.push_concurrency
        key = settings.vapid_private_key
        self.vapid = vapid_key(key._value) if key is not None else None
        self.preview_note = PREVIEW_NOTE if self.vapid is None else None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, env: Environment) -> WebPushSender:
        return cls(settings)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _NoRedirects()
            with self._lock:
                self._sessions.append(session)
        return session

    def push(self, recipient: fanout.Recipient, data: bytes) -> fanout.Result:
        if self.vapid is None:
            return fanout.Result(recipient.delivery_id, None)  # preview: recorded, not sent
        endpoint = recipient.address
        try:
            check_target(endpoint, allow_private=self.settings.push_allow_private)
        except TargetRefused as exc:
            return fanout.Result(recipient.delivery_id, f"refused: {exc}")
        keys = json.loads(recipient.push_keys or "{}")
        parts = urlsplit(endpoint)
        claims: dict[str, str | int] = {
            "sub": self.settings.vapid_subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
        }
        error: str | None = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                webpush(
                    {"endpoint": endpoint, "keys": keys},
                    data,
                    vapid_private_key=self.vapid,
                    vapid_claims=claims,
                    ttl=PUSH_TTL_SECONDS,
                    timeout=self.settings.push_timeout_seconds,
                    requests_session=self._session(),
                )
                return fanout.Result(recipient.delivery_id, None, attempt)
            except WebPushException as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status in (404, 410):
                    error = f"the push service answered {status}: the browser unsubscribed"
                    return fanout.Result(recipient.delivery_id, error, attempt, gone=True)
                error = f"the push service answered {status}"
                if status is not None and status != 429 and status < 500:
                    return fanout.Result(recipient.delivery_id, error, attempt)
            except requests.Timeout:
                # Not tried again: a service that takes the whole timeout would hold the lane
                # ATTEMPTS times as long, and every other subscriber's push behind it.
                timeout = self.settings.push_timeout_seconds
                return fanout.Result(
                    recipient.delivery_id, f"the push service did not answer in {timeout:g} s", attempt
                )
            except (requests.RequestException, OSError) as exc:
                error = f"could not reach the push service: {exc}"
            except ValueError as exc:  # keys the encryption refuses (they were checked when subscribed)
                return fanout.Result(recipient.delivery_id, f"could not encrypt the message: {exc}", attempt)
            if attempt < ATTEMPTS:
                time.sleep(self.pause * attempt)
        return fanout.Result(recipient.delivery_id, error, ATTEMPTS)

    def for_event(self, contents: EventContents) -> SendChunk:
        payloads = {lang: payload(content) for lang, content in contents.by_lang.items()}

        def send_chunk(batch: Sequence[fanout.Recipient]) -> list[fanout.Result]:
            return [
                self.push(recipient, payloads.get(recipient.lang) or payloads[contents.primary])
                for recipient in batch
            ]

        return send_chunk

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()
