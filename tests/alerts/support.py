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
from starlette.testclient import TestClient

from tests.support.server import free_port


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for message in self.messages if message["To"] == address]

    def recipients(self) -> list[str]:
        with self.lock:
            return [str(message["To"]) for message in self.messages]


def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
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
