"""What the lifespan builds and every request reaches: no globals, nothing at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from console.channels.mastodon import MastodonChannel
from console.channels.x import XChannel
from console.db import Database
from console.dispatcher import Dispatcher
from console.domain.outbox import Routing
from console.domain.post_runs import TextRules
from console.domain.previews import DEFAULT_RULES
from console.feeds.cap_signing import CapSigner
from console.keyset import KeyFile
from console.languages import Languages
from console.live.bus import LiveBus
from console.live.stream import LiveStream
from console.models import utcnow
from console.settings import Settings
from console.signed_head import HeadSigner
from console.templating import Templates
from console.web.rate_limit import KnownRefusals, RateLimit

# Sign-in attempts a minute from one address, before anything is read or written.
SIGNIN_ATTEMPTS_PER_MINUTE = 60

T = TypeVar("T")


@dataclass
class AppState:
    settings: Settings
    db: Database
    bus: LiveBus
    routing: Routing
    dispatcher: Dispatcher
    templates: Templates
    live: LiveStream
    keys: KeyFile  # SIGNING_KEY_FILE: the agency's signing key and every key it retired
    heads: HeadSigner  # signs the audit chain head for /audit/head.json
    verify_limit: RateLimit = field(default_factory=RateLimit)  # checks on /verify per client
    # POST /subscribe per client address (SUBSCRIBE_IP_LIMIT an hour) and per email address.
    subscribe_ip_limit: RateLimit = field(default_factory=lambda: RateLimit(20, 3600.0))
    subscribe_address_limit: RateLimit = field(default_factory=lambda: RateLimit(3, 3600.0))
    signin_limit: RateLimit = field(default_factory=lambda: RateLimit(limit=SIGNIN_ATTEMPTS_PER_MINUTE))
    signin_refusals: KnownRefusals = field(default_factory=KnownRefusals)
    cap_signer: CapSigner | None = None  # CAP_SIGNING_KEY and CAP_SIGNING_CERT, when set
    # What time it is for sessions and sign-in limits; tests put a fake clock here.
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def languages(self) -> Languages:
        """LANGUAGES: the primary language first."""
        return Languages(self.settings.languages)

    def enabled_channels(self) -> list[tuple[str, bool]]:
        """(name, preview?) of every enabled channel, in the order of CHANNELS."""
        return [
            (name, bool(getattr(channel, "preview", False)))
            for name, channel in self.dispatcher.channels.items()
        ]

    def post_rules(self) -> dict[str, TextRules]:
        """How X and Mastodon count a post, and their limits, for the previews: each enabled
        network's own (Mastodon's from the instance, cached), else the defaults. Blocking."""
        rules = dict(DEFAULT_RULES)
        for name, channel in self.dispatcher.channels.items():
            if isinstance(channel, XChannel | MastodonChannel):
                rules[name] = channel.rules_for_preview()
        return rules

    async def read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.db.read() as session:
                return work(session)

        return await run_in_threadpool(run)

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one serialized transaction, commit, then nudge the outbox and the live stream."""

        def run() -> T:
            with self.db.write() as session:
                return work(session)

        result = await run_in_threadpool(run)
        self.live.poke()  # first: the outbox's channels wait for the residents' push
        self.dispatcher.wake()
        return result


def app_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.state.app_state
    return state
