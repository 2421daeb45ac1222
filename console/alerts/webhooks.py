"""Partners' webhooks: every published version POSTed as JSON, signed per Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`, with the `standardwebhooks`
library), retried on network errors, 429 and 5xx. Private and loopback targets are refused
unless WEBHOOK_ALLOW_PRIVATE=true, both when registered and when sent (DNS may change).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from jinja2 import Environment
from standardwebhooks import Webhook
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from console.alert_models import AlertChannel
from console.alerts.content import AlertContent
from console.alerts.sender import EventContents, SendChunk
from console.domain import fanout
from console.settings import Settings

ATTEMPTS = 3


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not followed (it could lead to a private address): it is an error."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirects)
RETRY_PAUSE_SECONDS = 0.5


class TargetRefused(ValueError):
    """The URL may not receive webhooks."""


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that may not receive a request: not http(s), private or loopback (unless
    allowed), or read as one host here and as another by the sender (urllib3, under requests
    and pywebpush): `https://127.0.0.1\\@push.example` is push.example to `urlsplit` and
    127.0.0.1 to urllib3, so a URL must be printable ASCII without a backslash or a space, and
    both must read the same host and port."""
    if not url.isascii() or not url.isprintable() or "\\" in url or " " in url:
        raise TargetRefused("the url must be printable ASCII characters, without spaces or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
        sent_to = parse_url(url)
    except (ValueError, LocationParseError) as exc:  # e.g. an unclosed "[" of an IPv6 address
        raise TargetRefused(f"the url is not valid: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the url must be an absolute http(s) URL")
    if (parts.hostname, port) != ((sent_to.host or "").strip("[]").lower() or None, sent_to.port):
        raise TargetRefused("the url is not valid: its host is ambiguous")
    if len(url) > 2000:
        raise TargetRefused("the url is longer than 2000 characters")
    if allow_private:
        return
    if parts.scheme != "https":
        raise TargetRefused("the url must be https")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {parts.hostname!r} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise TargetRefused(f"the host {parts.hostname!r} is private or loopback ({address})")


def payload(content: AlertContent) -> dict[str, Any]:
    """The API's version view, plus the incident slug, the event id, the update's number within
    the incident (`update`, its `seq`: kept as partners read it) and its id in the API
    (`update_id`, as in `/api/v1/updates/{update_id}`)."""
    return {
        **content.version_view,
        "incident": content.incident_slug,
        "event_id": content.event_id,
        "update": content.seq,
        "update_id": content.update_id,
        "labels": content.labels,
        "url": content.url,
    }


def send(
    url: str,
    secret: str,
    body: dict[str, Any],
    *,
    message_id: str,
    timeout: float,
    allow_private: bool,
    pause: float = RETRY_PAUSE_SECONDS,
) -> tuple[str | None, int]:
    """POST once, retrying transient failures; (None or the error, attempts made)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    error: str | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            check_target(url, allow_private=allow_private)
        except TargetRefused as exc:
            return f"refused: {exc}", attempt
        now = datetime.now(UTC)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "incident-console-webhooks",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, now, data),
        }
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        try:
            with OPENER.open(request, timeout=timeout) as response:
                response.read(1024)
            return None, attempt
        except urllib.error.HTTPError as exc:
            exc.close()
            error = f"the endpoint answered {exc.code}"
            if exc.code != 429 and exc.code < 500:
                return error, attempt
        except (urllib.error.URLError, OSError) as exc:
            error = f"could not reach the endpoint: {getattr(exc, 'reason', exc)}"
        if attempt < ATTEMPTS:
            time.sleep(pause * attempt)
    return error, ATTEMPTS


class WebhookSender:
    """Partners' endpoints, one at a time (each may take WEBHOOK_TIMEOUT_SECONDS)."""

    channel: ClassVar[AlertChannel] = AlertChannel.WEBHOOK
    lanes: int = 1
    preview_note: str | None = None

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings, env: Environment) -> WebhookSender:
        return cls(settings)

    def for_event(self, contents: EventContents) -> SendChunk:
        def send_chunk(batch: Sequence[fanout.Recipient]) -> list[fanout.Result]:
            results = []
            for recipient in batch:
                error, attempts = send(
                    recipient.address,
                    recipient.secret or "",
                    payload(contents.for_lang(recipient.lang)),
                    message_id=f"msg_{contents.event_id}_{recipient.subscriber_id}",
                    timeout=self.settings.webhook_timeout_seconds,
                    allow_private=self.settings.webhook_allow_private,
                )
                results.append(fanout.Result(recipient.delivery_id, error, attempts))
            return results

        return send_chunk

    def close(self) -> None:
        pass
