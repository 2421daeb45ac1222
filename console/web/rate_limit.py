"""A per-client rate limit kept in one process's memory (nothing is written anywhere)."""

from __future__ import annotations

import threading
import time
from collections import deque


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
