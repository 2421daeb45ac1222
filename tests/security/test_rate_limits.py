"""Attacks on the per-address limits (sign-in, subscribing, push subscriptions, /verify) with
many addresses: an IPv6 network's worth of them, and a flood of distinct ones.

One IPv6 customer (a home, a cloud VM) is given at least a /64: 2^64 addresses it can use
one per request. Counting each as a separate client made every per-address limit
meaningless over IPv6. And the in-memory limiter walked all it remembered on every check
once it remembered 10,000 clients, under its lock, on the event loop: a flood of distinct
addresses made each check cost milliseconds and stalled every page and socket.
"""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from console.domain.signin import ACCOUNT_MAX_FAILURES, ADDRESS_MAX_FAILURES
from console.web.rate_limit import RateLimit, client_address
from tests.security.test_sessions import attempt
from tests.support.factories import PASSWORD
from tests.web.staff.conftest import FakeClock, email_of, state_of


def connect_from(client: TestClient, host: str) -> None:
    """Later requests of `client` come from `host` (as uvicorn gives the app the peer's address)."""
    client._transport.client = (host, 50000)  # type: ignore[attr-defined]


def request_from(host: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": (host, 1)})


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:0:0:0:7", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client of a dual-stack socket is its IPv4 address
        ("192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),  # not an address (a test client, a unix socket): as it is
    ],
)
def test_a_client_is_counted_by_its_address_or_its_ipv6_network(host: str, counted_as: str) -> None:
    assert client_address(request_from(host)) == counted_as


def test_a_brute_force_spread_over_one_ipv6_network_is_one_address(
    client: TestClient, people: dict[str, int], clock: FakeClock
) -> None:
    """Each guess from a new address of the same /64 (and each account guessed fewer times than
    locks it): the network is refused after ADDRESS_MAX_FAILURES, the right password too."""
    per_account = ACCOUNT_MAX_FAILURES // 2
    for n in range(ADDRESS_MAX_FAILURES):
        connect_from(client, f"2001:db8:1:2::{n + 1:x}")
        assert attempt(client, f"guess{n // per_account}@example.org", "wrong password") == 400
    connect_from(client, "2001:db8:1:2:abcd::9")
    assert attempt(client, email_of("admin"), PASSWORD) == 429
    # Another network is another client.
    connect_from(client, "2001:db8:1:3::1")
    assert attempt(client, email_of("admin"), PASSWORD) == 303


def test_push_subscriptions_from_one_ipv6_network_share_one_limit(client: TestClient) -> None:
    limit = state_of(client).settings.subscribe_ip_limit
    answers = []
    for n in range(limit + 3):
        connect_from(client, f"2001:db8:7:7::{n + 1:x}")
        response = client.post("/push/subscriptions", json={}, headers={"Origin": "http://testserver"})
        answers.append(response.status_code)
    assert 429 not in answers[:limit]
    assert answers[limit:] == [429, 429, 429]


def test_a_flood_of_distinct_addresses_keeps_each_check_cheap_and_memory_bounded() -> None:
    """15,000 addresses within the hour of SUBSCRIBE_IP_LIMIT's window: what is remembered stays
    bounded (before, none of them was idle, so every one was kept, and past 10,000 each check
    walked them all)."""
    limit = RateLimit(20, 3600.0)
    for n in range(15_000):
        assert limit.allow(f"198.51.{n // 250}.{n % 250}", now=1000.0 + n * 0.01) is None
    assert limit.clients() == RateLimit.MAX_CLIENTS


def test_a_client_at_its_limit_stays_limited_while_others_come_and_go() -> None:
    limit = RateLimit(3, 60.0)
    for _ in range(3):
        assert limit.allow("attacker", now=0.0) is None
    for n in range(100):
        limit.allow(f"resident{n}", now=1.0)
    assert limit.allow("attacker", now=2.0) == pytest.approx(58.0)
    assert limit.allow("attacker", now=60.5) is None  # the window passed
