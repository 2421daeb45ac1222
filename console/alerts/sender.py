"""The interface of an alert channel's sender: how the fan-out runner hands it a batch of
recipients of one event. Each alert channel (email, webhooks, …) is one sender; adding one
is a class here plus a line in `console.alerts.registry`, and touches no other sender."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from jinja2 import Environment

from console.alert_models import AlertChannel
from console.alerts.content import AlertContent
from console.domain import fanout, subscriptions
from console.settings import Settings

# Sends one chunk of recipients of the event it was made for; one result per recipient.
SendChunk = Callable[[Sequence[fanout.Recipient]], list[fanout.Result]]


def unsubscribe_url(settings: Settings, subscriber_id: int) -> str:
    token = subscriptions.unsubscribe_token(settings.secret_key._value, subscriber_id)
    return f"{settings.public_url}/unsubscribe?token={token}"


class EventContents:
    """One event's alert content in each configured language; a subscriber whose language
    is no longer configured gets the primary language's."""

    def __init__(self, event_id: int, by_lang: dict[str, AlertContent], primary: str) -> None:
        self.event_id = event_id
        self.by_lang = by_lang
        self.primary = primary

    def for_lang(self, lang: str) -> AlertContent:
        return self.by_lang.get(lang) or self.by_lang[self.primary]


class AlertSender(Protocol):
    channel: ClassVar[AlertChannel]
    # How many chunks of one job are sent at once (connections to the provider).
    lanes: int
    # None when it really sends; else what the PIO is told (e.g. "email in preview: SMTP_URL not set").
    preview_note: str | None

    @classmethod
    def from_settings(cls, settings: Settings, env: Environment) -> AlertSender: ...

    def for_event(self, contents: EventContents) -> SendChunk:
        """A sender of chunks for one event's job (it may render once per language)."""
        ...

    def close(self) -> None:
        """Release connections at the end of a job."""
        ...
