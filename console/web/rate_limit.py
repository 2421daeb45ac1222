"""A per-client rate limit kept in one process's memory (nothing is written anywhere)."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque
from datetime import datetime

from starlette.requests import Request

# One IPv6 customer (a home, a phone, a cloud VM) is given a /64 at least: 2^64 addresses it
# may use one per request. A limit per address counts the network.
IPV6_CLIENT_PREFIX = 64


def client_key(host: str) -> str:
    """What a limit counts `host` as: an IPv4 address as it is (also when a dual-stack socket
    gives it as ::ffff:a.b.c.d), an IPv6 address as its /64, anything else (not an address)
    as it is."""
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # without a zone (fe80::1%eth0)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)


def client_address(request: Request) -> str:
    """The address a limit counts a request against (behind a proxy, uvicorn's
    --forwarded-allow-ips makes it the real client's): an IPv6 client's /64 network."""
    return client_key(request.client.host) if request.client else "unknown"


class RateLimit:
    """At most `limit` checks per `window` seconds per client address, in this process's
    memory only. At most MAX_CLIENTS clients are remembered: past that, the one seen least
    recently is forgotten (each check costs the same however many clients there are)."""

    MAX_CLIENTS = 10_000

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        # Least recently seen first.
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def clients(self) -> int:
        """How many clients are remembered."""
        with self._lock:
            return len(self._seen)

    def allow(self, client: str, now: float | None = None) -> float | None:
        """None if allowed, else the seconds until the next check is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.get(client)
            if times is None:
                times = self._seen[client] = deque()
                while len(self._seen) > self.MAX_CLIENTS:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end(client)
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                return times[0] + self.window - now
            times.append(now)
            return None


class KnownRefusals:
    """Lockouts this process has already seen, until they end: an attempt they cover is
    answered 429 from memory, with no database read or write (a flood writes nothing)."""

    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._until: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def remember(self, key: str, scope: str, until: datetime) -> None:
        with self._lock:
            if len(self._until) >= self.MAX_KEYS:  # forget the ones that ended: memory stays bounded
                now = min(when for _, when in self._until.values())
                self._until = {k: v for k, v in self._until.items() if v[1] > now}
                if len(self._until) >= self.MAX_KEYS:
                    self._until.clear()
            self._until[key] = (scope, until)

    def find(self, keys: list[str], now: datetime) -> tuple[str, datetime] | None:
        """(scope, until) of a lockout covering any of `keys` at `now`."""
        with self._lock:
            for key in keys:
                found = self._until.get(key)
                if found is not None and now < found[1]:
                    return found
        return None
