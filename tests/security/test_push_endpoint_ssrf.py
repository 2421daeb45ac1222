"""A push subscription whose endpoint points the console's own pushes at an internal address.

`POST /push/subscriptions` is public. With PUSH_ALLOW_PRIVATE off, an endpoint on a private
or loopback host is refused: its host is resolved and checked. But the host that check read
(Python's `urlsplit`) was not the host the push is sent to (`requests`, through urllib3):
`https://127.0.0.1\\@push.example.com/x` is `push.example.com` to the first (userinfo
`127.0.0.1\\`) and `127.0.0.1` to the second (its authority ends at the backslash). Such a
subscription was stored, and every alert then made the server open a TLS connection to its
own loopback (or any internal address) and POST to it.
"""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

import pytest
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from console.alerts.web_push import new_private_key
from console.db import Database
from console.settings import Settings
from console.web.app import create_app
from tests.alerts.test_web_push import Browser, push_subscribers, subscribe

REAL_GETADDRINFO = socket.getaddrinfo


def public_push_service(host: Any, *args: Any, **kwargs: Any) -> Any:
    """DNS as the attacker sets it up: push.example.com is a public address."""
    if host == "push.example.com":
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.216.34", 443))]
    return REAL_GETADDRINFO(host, *args, **kwargs)


@pytest.fixture
def strict(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(socket, "getaddrinfo", public_push_service)
    key = Secret(new_private_key())
    return dataclasses.replace(settings, vapid_private_key=key, push_allow_private=False)


SMUGGLED = [
    "https://127.0.0.1\\@push.example.com/push/x",
    "https://127.0.0.1:8443\\@push.example.com/push/x",
    "https://169.254.169.254\\@push.example.com/latest/meta-data",
    "https://[::1]\\@push.example.com/push/x",
    "https://localhost\\\\@push.example.com/push/x",
]


@pytest.mark.parametrize("endpoint", SMUGGLED)
def test_an_endpoint_read_as_another_host_by_the_sender_is_refused(
    strict: Settings, db: Database, endpoint: str
) -> None:
    with TestClient(create_app(strict)) as client:
        response = subscribe(client, endpoint, Browser.new())
    assert response.status_code == 422, response.text
    assert "endpoint" in response.json()["error"]["fields"]
    assert push_subscribers(db) == []


def test_a_public_push_service_is_still_accepted(strict: Settings, db: Database) -> None:
    with TestClient(create_app(strict)) as client:
        response = subscribe(client, "https://push.example.com/push/v2/abc-DEF_123", Browser.new())
    assert response.status_code == 201, response.text
    assert [s.address for s in push_subscribers(db)] == ["https://push.example.com/push/v2/abc-DEF_123"]
