"""A per-client rate limit kept in one process's memory (nothing is written anywhere)."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime

from starlette.requests import Request


def client_address(request: Request) -> str:
    """The address a limit counts a request against (behind a proxy, uvicorn's
    --forwarded-allow-ips makes it the real client's)."""
    return request.client.host if request.client else "unknown"


class RateLimit:
    """At most `limit` checks a minute per client address, in this process's memory only."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> float | None:
        """None if allowed, else the seconds until the next check is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) > 10_000:  # forget everyone idle: memory stays bounded
                self._seen = {
                    key: times for key, times in self._seen.items() if times and times[-1] > now - self.window
                }
            times = self._seen.setdefault(client, deque())
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
