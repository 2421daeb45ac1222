"""Helpers for the fault-injection suite: an API client that survives a dying server without
ever publishing twice, and the environment of a console with every channel enabled."""

from __future__ import annotations

import http.client
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.social import fake_mastodon, fake_x
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX
from tests.support.server import ROOT

# What a client sees when the server died under its request: the answer is lost, not refused.
LOST = (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException)


@dataclass
class ApiClient:
    """Sends every publishing request with an Idempotency-Key and, when the answer is lost
    (server killed, connection refused, 503 while the database restarts), sends the very
    same request again with the same key: the server publishes it at most once."""

    base: str
    token: str
    resent: int = 0  # requests whose answer was lost at least once, so were sent again
    replayed: int = 0  # answers the server gave back from an earlier attempt
    # This share of answers is thrown away as if the connection dropped just after the server
    # committed: the worst moment to lose an answer, which a kill -9 rarely hits by chance.
    drop_answers: float = 0.0
    dropped: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def post(self, path: str, body: dict[str, Any], *, timeout: float = 60) -> dict[str, Any]:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + timeout
        lost = False
        while True:
            try:
                answer, replayed = self._send(path, body, key)
            except urllib.error.HTTPError as error:
                with error:
                    if error.code != 503:
                        raise AssertionError(f"POST {path} -> {error.code}: {error.read()[:300]!r}") from None
                self._wait(deadline, path)
            except LOST:
                lost = True
                self._wait(deadline, path)
            else:
                self.replayed += replayed
                if not replayed and self.rng.random() < self.drop_answers:
                    self.dropped += 1
                    lost = True
                    continue
                self.resent += lost
                return answer

    def _send(self, path: str, body: dict[str, Any], key: str) -> tuple[dict[str, Any], bool]:
        request = urllib.request.Request(
            f"{self.base}/api/v1{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.load(response)), response.headers.get("Idempotent-Replayed") == "true"

    @staticmethod
    def _wait(deadline: float, path: str) -> None:
        assert time.monotonic() < deadline, f"POST {path} got no answer in time"
        time.sleep(0.05)


def social_env(x: FakeX, mastodon: FakeMastodon) -> dict[str, str]:
    """X and Mastodon credentials, and base URLs pointing at the fakes on 127.0.0.1."""
    return {
        "X_API_KEY": fake_x.CONSUMER_KEY,
        "X_API_SECRET": fake_x.CONSUMER_SECRET,
        "X_ACCESS_TOKEN": fake_x.ACCESS_TOKEN,
        "X_ACCESS_TOKEN_SECRET": fake_x.ACCESS_TOKEN_SECRET,
        "X_API_BASE_URL": x.url,
        "MASTODON_BASE_URL": mastodon.url,
        "MASTODON_ACCESS_TOKEN": fake_mastodon.TOKEN,
    }


def audit_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    """`console audit verify`, the command an operator runs, as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "console", "audit", "verify"],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def feed_entry_ids(path: Path) -> list[str]:
    import feedparser

    return [entry.id for entry in feedparser.parse(path.read_bytes()).entries]
