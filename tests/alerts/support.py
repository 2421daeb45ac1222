"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and helpers to
subscribe through the public pages."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert
from starlette.testclient import TestClient

from console.alert_models import AlertChannel, Subscriber, SubscriberStatus
from console.db import Database
from console.models import utcnow
from tests.support.server import free_port


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@dataclass
class Inbox:
    """What the server received: (envelope recipients, raw bytes), parsed when asked."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [parse(data) for _, data in self.received]

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [parse(data) for rcpt, data in self.received if rcpt == [address]]

    def recipients(self) -> list[str]:
        with self.lock:
            return [address for rcpt, _ in self.received for address in rcpt]


def smtp_server(inbox: Inbox | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = inbox or Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def ask_for_alerts(client: TestClient, address: str, *, lang: str = "en", incident: str = "") -> int:
    page = client.get("/subscribe", params={"lang": lang})
    assert page.status_code == 200
    response = client.post(
        "/subscribe",
        data={"csrf_token": form_token(page.text), "email": address, "lang": lang, "incident": incident},
    )
    return response.status_code


def link_in(text: str, path: str) -> str:
    found = re.search(r"(https?://\S+" + re.escape(path) + r"\?token=[\w-]+)", text)
    assert found, f"a {path} link in {text!r}"
    return found.group(1)


def seed_email_subscribers(db: Database, count: int) -> None:
    """`count` confirmed email subscribers r0@example.org, r1@…, inserted at once (a fan-out's
    size without subscribing each through the pages)."""
    now = utcnow()
    with db.write() as session:
        session.execute(
            insert(Subscriber),
            [
                {
                    "channel": AlertChannel.EMAIL,
                    "address": f"r{n}@example.org",
                    "address_hash": f"{n:064x}",
                    "lang": "en",
                    "status": SubscriberStatus.CONFIRMED,
                    "created_at": now,
                    "confirmed_at": now,
                }
                for n in range(count)
            ],
        )
