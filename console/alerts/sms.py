"""SMS alerts through Twilio's REST API (the official `twilio` library), or, in preview (no
TWILIO_ACCOUNT_SID), recorded and never sent.

An alert is cut into messages that each fit in one SMS (`console.domain.sms_text`): the
labels and the incident first (an exercise or test before anything; then a retraction says
so, gives why and quotes the withdrawn text after "Withdrawn text:"; a correction gives
"Why: …" after its text), the link and "Reply STOP to stop" last (in a message of its own
when the two do not fit one), in the subscriber's language; several messages are numbered
"(1/3) ", "(2/3) " … (after a drill's label). Messages leave at most
SMS_PER_SECOND a second; 429, 5xx and network errors are retried a bounded number of times,
any other refusal is the recipient's failure (21610: they replied STOP to the carrier, so
they are unsubscribed here too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import requests
from jinja2 import Environment
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from console.alert_models import AlertChannel
from console.alerts.content import AlertContent
from console.alerts.sender import EventContents, SendChunk
from console.domain import fanout, sms_text, subscriptions
from console.i18n import gettext, in_language, label
from console.settings import Settings

log = logging.getLogger("console.alerts.sms")
TWILIO_API = "https://api.twilio.com"
ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5
UNSUBSCRIBED_RECIPIENT = 21610  # Twilio: the recipient replied STOP to this sender


def render_alert(content: AlertContent) -> list[str]:
    """The SMS messages of one alert, in the subscriber's language."""
    with in_language(content.requested_lang):
        phrases = sms_text.Phrases(
            retracted=gettext("RETRACTED: this update was withdrawn."),
            why=gettext("Why:"),
            withdrawn_text=gettext("Withdrawn text"),
            what_to_do=gettext("What to do:"),
            translation_pending=gettext("Translation being updated."),
            stop=gettext("Reply STOP to stop."),
        )
        return sms_text.alert_messages(
            labels=content.labels,
            title=content.incident_title,
            headline=content.headline,
            body=content.body,
            instruction=content.instruction,
            kind=content.kind,
            reason=content.reason,
            translation_pending=content.translation_pending,
            link=content.url,
            phrases=phrases,
            label=label,
        )


def code_message(agency_name: str, code: str, lang: str) -> str:
    """The confirmation code, in the language the resident chose on the form."""
    minutes = int(subscriptions.SMS_CODE_LIFETIME.total_seconds() // 60)
    with in_language(lang):
        text = gettext("%(agency)s: your alerts code is %(code)s. It expires in %(minutes)s minutes.")
    return text % {"agency": agency_name, "code": code, "minutes": minutes}


class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # untyped library
    """Twilio's HTTP client, its requests to https://api.twilio.com sent to another base URL
    (TWILIO_BASE_URL: a test server)."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url.removeprefix(TWILIO_API)
        return super().request(method, url, *args, **kwargs)


class Pace:
    """At most `per_second` calls a second across threads: each waits for its slot."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_at)
            self.next_at = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


# (None or the error, attempts made, Twilio's error code when it refused)
Outcome = tuple[str | None, int, int | None]


class SmsTransport(Protocol):
    preview: bool

    def send(self, to: str, body: str) -> Outcome: ...


class PreviewTransport:
    """No TWILIO_ACCOUNT_SID: each message is logged (its length only) and recorded as sent."""

    preview = True

    def send(self, to: str, body: str) -> Outcome:
        log.info("sms in preview, not sent: %d characters", len(body))
        return None, 1, None


class TwilioTransport:
    preview = False

    def __init__(self, client: Client, from_: str, pace: Pace, *, pause: float = RETRY_PAUSE_SECONDS) -> None:
        self.client = client
        self.from_ = from_
        self.pace = pace
        self.pause = pause

    def send(self, to: str, body: str) -> Outcome:
        error: str | None = None
        for attempt in range(1, ATTEMPTS + 1):
            self.pace.wait()
            try:
                self.client.messages.create(to=to, from_=self.from_, body=body)
                return None, attempt, None
            except TwilioRestException as exc:
                error = f"Twilio answered {exc.status} (error {exc.code}): {exc.msg}"
                if exc.status != 429 and exc.status < 500:
                    return error, attempt, exc.code
            except requests.RequestException as exc:
                error = f"could not reach Twilio: {type(exc).__name__}"
            if attempt < ATTEMPTS:
                time.sleep(self.pause * attempt)
        return error, ATTEMPTS, None


def transport_from_settings(settings: Settings) -> SmsTransport:
    if settings.twilio_account_sid is None or settings.twilio_auth_token is None or not settings.twilio_from:
        return PreviewTransport()
    timeout = settings.social_request_timeout_seconds
    http_client = (
        BaseUrlHttpClient(settings.twilio_base_url, timeout=timeout)
        if settings.twilio_base_url
        else TwilioHttpClient(timeout=timeout)
    )
    client = Client(settings.twilio_account_sid, str(settings.twilio_auth_token), http_client=http_client)
    return TwilioTransport(client, settings.twilio_from, Pace(settings.sms_per_second))


def send_code(settings: Settings, code: subscriptions.SmsCode) -> None:
    """The confirmation code: the only message sent before a subscription is confirmed."""
    transport = transport_from_settings(settings)
    if transport.preview:
        log.info("sms in preview: subscriber %d has the code %s", code.subscriber_id, code.code)
        return
    error, _, _ = transport.send(code.phone, code_message(settings.agency_name, code.code, code.lang))
    if error is not None:
        log.warning("a confirmation code could not be sent: %s", error)


class SmsSender:
    """SMS alerts, one lane (the account's rate is the limit, not connections)."""

    channel: ClassVar[AlertChannel] = AlertChannel.SMS
    lanes: int = 1

    def __init__(self, settings: Settings, transport: SmsTransport) -> None:
        self.settings = settings
        self.transport = transport
        self.preview_note = "sms in preview: TWILIO_ACCOUNT_SID not set" if transport.preview else None

    @classmethod
    def from_settings(cls, settings: Settings, env: Environment) -> SmsSender:
        return cls(settings, transport_from_settings(settings))

    def for_event(self, contents: EventContents) -> SendChunk:
        rendered: dict[str, list[str]] = {}
        lock = threading.Lock()

        def messages(lang: str) -> list[str]:
            content = contents.for_lang(lang)
            with lock:
                if content.requested_lang not in rendered:
                    rendered[content.requested_lang] = render_alert(content)
                return rendered[content.requested_lang]

        def send(batch: Sequence[fanout.Recipient]) -> list[fanout.Result]:
            results = []
            for recipient in batch:
                error: str | None = None
                attempts = 0
                code: int | None = None
                for body in messages(recipient.lang):
                    error, tries, code = self.transport.send(recipient.address, body)
                    attempts += tries
                    if error is not None:
                        break
                gone = code == UNSUBSCRIBED_RECIPIENT
                results.append(fanout.Result(recipient.delivery_id, error, attempts, gone=gone))
            return results

        return send

    def close(self) -> None:
        pass
