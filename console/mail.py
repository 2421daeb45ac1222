"""Outgoing email, for every part of the console that sends it (subscriber alerts, approver
notices): a message composed once and stamped per recipient, sent over SMTP (`SMTP_URL`:
smtp://, smtp+starttls:// or smtps://), or, in preview (no SMTP_URL), written as .eml files
under MAIL_PREVIEW_DIR, never sent.
"""

from __future__ import annotations

import base64
import secrets
import smtplib
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from console.settings import Settings

UNSUBSCRIBE_MARK = "__UNSUBSCRIBE_URL__"  # replaced per recipient in a message rendered once per language


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    lang: str


@dataclass(frozen=True)
class Outgoing:
    """One message ready for the wire: its recipient and its bytes."""

    to: str
    data: bytes
    message_id: str


def _base64_lines(text: str) -> bytes:
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", b"\r\n")


class MailTemplate:
    """A message composed once (per language) and stamped per recipient.

    Building an `EmailMessage` per recipient costs milliseconds in header parsing; here the
    headers are encoded once and each part is cut at the unsubscribe link, so a recipient
    costs a string join and a base64 pass (both parts are base64, so no line is ever long).
    """

    def __init__(self, rendered: Rendered, *, mail_from: str) -> None:
        self.rendered = rendered
        subject = Header(rendered.subject, "utf-8", maxlinelen=76).encode(linesep="\r\n")
        self.head = (
            f"Subject: {subject}\r\nFrom: {mail_from}\r\nContent-Language: {rendered.lang}\r\n"
            "MIME-Version: 1.0\r\n"
        )
        self.boundary = f"=_alert_{secrets.token_hex(12)}"

    def stamp(self, *, to: str, unsubscribe_url: str | None, message_id: str) -> Outgoing:
        text, html = self.rendered.text, self.rendered.html
        head = self.head + f"To: {to}\r\nDate: {formatdate(usegmt=True)}\r\nMessage-ID: {message_id}\r\n"
        if unsubscribe_url is not None:
            head += f"List-Unsubscribe: <{unsubscribe_url}>\r\n"
            head += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
            text = text.replace(UNSUBSCRIBE_MARK, unsubscribe_url)
            html = html.replace(UNSUBSCRIBE_MARK, unsubscribe_url.replace("&", "&amp;"))
        boundary = self.boundary.encode()
        part = b'Content-Transfer-Encoding: base64\r\nContent-Type: text/%s; charset="utf-8"\r\n\r\n'
        data = b"".join(
            [
                head.encode("ascii"),
                b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
                b"--" + boundary + b"\r\n",
                part % b"plain",
                _base64_lines(text),
                b"--" + boundary + b"\r\n",
                part % b"html",
                _base64_lines(html),
                b"--" + boundary + b"--\r\n",
            ]
        )
        return Outgoing(to, data, message_id)


def message_id(kind: str, *parts: int | str, domain: str) -> str:
    return make_msgid(f"{kind}-" + "-".join(str(part) for part in parts), domain=domain or "localhost")


OnResult = Callable[[int, str | None], None]


class Mailer(Protocol):
    preview: bool

    def send(self, messages: Sequence[Outgoing], on_result: OnResult) -> None:
        """Send each message in turn, calling `on_result(index, None or what went wrong)`
        right after each."""
        ...

    def close(self) -> None:
        """Close the connections kept open between calls."""
        ...


class PreviewMailer:
    """No SMTP_URL: each message is written to MAIL_PREVIEW_DIR as an .eml file, never sent."""

    preview = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, messages: Sequence[Outgoing], on_result: OnResult) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for index, message in enumerate(messages):
            name = message.message_id.strip("<>").replace("/", "_")
            (self.directory / f"{name}.eml").write_bytes(message.data)
            on_result(index, None)

    def close(self) -> None:
        pass


class SmtpMailer:
    """One SMTP connection per sending thread, kept open across calls until `close`; a
    dropped connection is reopened once per message."""

    preview = False

    def __init__(self, url: str, *, timeout: float, mail_from: str, local_hostname: str) -> None:
        self.mail_from = mail_from
        self.local_hostname = local_hostname  # for EHLO; else smtplib asks DNS on every connection
        self._local = threading.local()  # each sending thread's own connection
        self._open: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
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
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
            if self.scheme == "smtp+starttls":
                connection.starttls(context=ssl.create_default_context())
        if self.username is not None:
            connection.login(self.username, self.password or "")
        return connection

    def send(self, messages: Sequence[Outgoing], on_result: OnResult) -> None:
        """Over this thread's connection, kept open for its next call (see `close`)."""
        for index, message in enumerate(messages):
            for attempt in (1, 2):
                try:
                    self._connection().sendmail(self.mail_from, [message.to], message.data)
                    on_result(index, None)
                    break
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPDataError,
                    smtplib.SMTPSenderRefused,
                ) as exc:
                    on_result(index, f"refused: {exc}")
                    break
                except (smtplib.SMTPException, OSError) as exc:
                    self._drop()  # reopen once, then count the message as failed
                    if attempt == 2:
                        on_result(index, f"{type(exc).__name__}: {exc}")

    def _connection(self) -> smtplib.SMTP:
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            with self._lock:
                self._open.append(connection)
        return connection

    def _drop(self) -> None:
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._open.remove(connection)
            connection.close()

    def close(self) -> None:
        with self._lock:
            connections, self._open = self._open, []
        for connection in connections:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
        self._local = threading.local()


def mailer_from_settings(settings: Settings) -> Mailer:
    if settings.smtp_url is None:
        return PreviewMailer(settings.mail_preview_dir)
    return SmtpMailer(
        str(settings.smtp_url),
        timeout=settings.smtp_timeout_seconds,
        mail_from=settings.mail_from,
        local_hostname=settings.public_host or "localhost",
    )
