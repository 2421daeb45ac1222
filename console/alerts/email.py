"""Email alerts: composed from the same templates as text and HTML, sent over SMTP
(`SMTP_URL`: smtp://, smtp+starttls:// or smtps://), or, in preview (no SMTP_URL), written
as .eml files under MAIL_PREVIEW_DIR and recorded, never sent.

Every alert carries a one-click unsubscribe (RFC 8058): `List-Unsubscribe` with the https
link and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and the same link in the text.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from jinja2 import Environment

from console.alerts.content import AlertContent
from console.i18n import gettext, in_language, label
from console.settings import Settings

UNSUBSCRIBE_MARK = "__UNSUBSCRIBE_URL__"  # replaced per recipient in a message rendered once per language


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    lang: str


def render_alert(env: Environment, content: AlertContent) -> Rendered:
    """An alert in the subscriber's language, its unsubscribe link left as a mark."""
    with in_language(content.requested_lang):
        labels = "".join(f"{label(name)}: " for name in content.labels)
        subject = f"{labels}{content.incident_title}: {content.headline or content.body[:80]}"
        context = {"alert": content, "unsubscribe_url": UNSUBSCRIBE_MARK, "lang": content.requested_lang}
        text = env.get_template("alerts/alert.txt").render(context)
        html = env.get_template("alerts/alert.html").render(context)
    return Rendered(" ".join(subject.split())[:200], text, html, content.requested_lang)


def render_confirmation(
    env: Environment, *, lang: str, confirm_url: str, incident_title: str | None
) -> Rendered:
    with in_language(lang):
        context = {"confirm_url": confirm_url, "incident_title": incident_title, "lang": lang}
        subject = gettext("Confirm your alerts subscription")
        text = env.get_template("alerts/confirm.txt").render(context)
        html = env.get_template("alerts/confirm.html").render(context)
    return Rendered(subject, text, html, lang)


def build_message(
    rendered: Rendered,
    *,
    mail_from: str,
    to: str,
    unsubscribe_url: str | None,
    message_id: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = mail_from
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Content-Language"] = rendered.lang
    text, html = rendered.text, rendered.html
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text = text.replace(UNSUBSCRIBE_MARK, unsubscribe_url)
        html = html.replace(UNSUBSCRIBE_MARK, unsubscribe_url.replace("&", "&amp;"))
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def message_id(kind: str, *parts: int | str, domain: str) -> str:
    return make_msgid(f"{kind}-" + "-".join(str(part) for part in parts), domain=domain or "localhost")


class Mailer(Protocol):
    preview: bool

    def send(self, messages: Sequence[EmailMessage]) -> list[str | None]:
        """Send each message; per message None (sent) or what went wrong."""
        ...


class PreviewMailer:
    """No SMTP_URL: each message is written to MAIL_PREVIEW_DIR as an .eml file, never sent."""

    preview = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, messages: Sequence[EmailMessage]) -> list[str | None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        for message in messages:
            name = str(message["Message-ID"]).strip("<>").replace("/", "_")
            (self.directory / f"{name}.eml").write_bytes(message.as_bytes())
        return [None] * len(messages)


class SmtpMailer:
    """One SMTP connection per batch; a dropped connection is reopened once per message."""

    preview = False

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        default_port = {"smtps": 465, "smtp+starttls": 587}.get(self.scheme, 25)
        self.port = parts.port or default_port
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        connection: smtplib.SMTP
        if self.scheme == "smtps":
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.scheme == "smtp+starttls":
                connection.starttls(context=ssl.create_default_context())
        if self.username is not None:
            connection.login(self.username, self.password or "")
        return connection

    def send(self, messages: Sequence[EmailMessage]) -> list[str | None]:
        results: list[str | None] = []
        connection: smtplib.SMTP | None = None
        try:
            for message in messages:
                for attempt in (1, 2):
                    try:
                        if connection is None:
                            connection = self._connect()
                        connection.send_message(message)
                        results.append(None)
                        break
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                        results.append(f"refused: {exc}")
                        break
                    except (smtplib.SMTPException, OSError) as exc:
                        connection = None  # reopen once, then count the message as failed
                        if attempt == 2:
                            results.append(f"{type(exc).__name__}: {exc}")
        finally:
            if connection is not None:
                try:
                    connection.quit()
                except (smtplib.SMTPException, OSError):
                    connection.close()
        return results


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp_url is None:
        return PreviewMailer(settings.mail_preview_dir)
    return SmtpMailer(str(settings.smtp_url), timeout=settings.smtp_timeout_seconds)
