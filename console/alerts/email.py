"""Email alerts: composed from the same templates as text and HTML, sent over SMTP
(`SMTP_URL`: smtp://, smtp+starttls:// or smtps://), or, in preview (no SMTP_URL), written
as .eml files under MAIL_PREVIEW_DIR and recorded, never sent.

The transport (SMTP or preview) is `console.mail`'s, shared with the approver notices.

Every alert carries a one-click unsubscribe (RFC 8058): `List-Unsubscribe` with the https
link and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and the same link in the text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

from jinja2 import Environment

from console.alert_models import AlertChannel
from console.alerts.content import AlertContent
from console.alerts.sender import EventContents, SendChunk, unsubscribe_url
from console.domain import fanout, wording
from console.i18n import gettext, in_language, interface_language, label
from console.mail import UNSUBSCRIBE_MARK, Mailer, MailTemplate, Rendered, mailer_from_settings, message_id
from console.settings import Settings

SUBJECT_TEXT_MAX = 80  # of the body, in a subject when the version has no headline
SUBJECT_MAX = 200


def render_alert(env: Environment, content: AlertContent) -> Rendered:
    """An alert in the subscriber's language, its unsubscribe link left as a mark."""
    with in_language(content.requested_lang):
        labels = "".join(f"{label(name)}: " for name in content.labels)
        text_of = content.headline or wording.shorten(content.body, SUBJECT_TEXT_MAX)
        subject = f"{labels}{content.incident_title}: {text_of}"
        # The email's own words are in a language with a catalog (English for the others);
        # each text in another language says which (`lang_attr`).
        words = interface_language(content.requested_lang)
        context = {
            "alert": content,
            "unsubscribe_url": UNSUBSCRIBE_MARK,
            "lang": words,
            # an exercise or test: its label comes before anything else
            "drill": any(name in wording.DRILL_LABELS for name in content.labels),
        }
        text = env.get_template("alerts/alert.txt").render(context)
        html = env.get_template("alerts/alert.html").render(context)
    return Rendered(wording.shorten(subject, SUBJECT_MAX), text, html, content.requested_lang)


def render_confirmation(
    env: Environment,
    *,
    lang: str,
    confirm_url: str,
    incident_title: str | None,
    area_point: str | None = None,
    area_zip: str | None = None,
) -> Rendered:
    """The double opt-in message; it repeats the location asked for, if any (issue 17)."""
    with in_language(lang):
        context = {
            "confirm_url": confirm_url,
            "incident_title": incident_title,
            "lang": interface_language(lang),
            "area_point": area_point,
            "area_zip": area_zip,
        }
        subject = gettext("Confirm your alerts subscription")
        text = env.get_template("alerts/confirm.txt").render(context)
        html = env.get_template("alerts/confirm.html").render(context)
    return Rendered(subject, text, html, lang)


class EmailSender:
    """Email alerts over SMTP_CONNECTIONS connections at once, each message rendered once
    per language, only the address and the unsubscribe link stamped per recipient."""

    channel: ClassVar[AlertChannel] = AlertChannel.EMAIL

    def __init__(self, settings: Settings, env: Environment, mailer: Mailer) -> None:
        self.settings = settings
        self.env = env
        self.mailer = mailer
        self.lanes = settings.smtp_connections
        self.preview_note = "email in preview: SMTP_URL not set" if mailer.preview else None

    @classmethod
    def from_settings(cls, settings: Settings, env: Environment) -> EmailSender:
        return cls(settings, env, mailer_from_settings(settings))

    def for_event(self, contents: EventContents) -> SendChunk:
        rendered: dict[str, MailTemplate] = {}
        lock = threading.Lock()

        def template(lang: str) -> MailTemplate:
            content = contents.for_lang(lang)
            with lock:  # chunks of one job are sent from several threads
                if content.requested_lang not in rendered:
                    rendered[content.requested_lang] = MailTemplate(
                        render_alert(self.env, content), mail_from=self.settings.mail_from
                    )
                return rendered[content.requested_lang]

        def send(batch: Sequence[fanout.Recipient]) -> list[fanout.Result]:
            messages = [
                template(recipient.lang).stamp(
                    to=recipient.address,
                    unsubscribe_url=unsubscribe_url(self.settings, recipient.subscriber_id),
                    message_id=message_id(
                        "alert", contents.event_id, recipient.subscriber_id, domain=self.settings.public_host
                    ),
                )
                for recipient in batch
            ]
            results: list[fanout.Result] = []
            self.mailer.send(
                messages, lambda index, error: results.append(fanout.Result(batch[index].delivery_id, error))
            )
            return results

        return send

    def close(self) -> None:
        self.mailer.close()
