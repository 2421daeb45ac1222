"""Fixtures the outage and crash tests share with the other suites: the live settings and the
private PostgreSQL and Redis servers these tests may stop and start (tests/live), and the fake
social networks (tests/social)."""

from tests.live.conftest import (  # noqa: F401  (fixtures)
    channel,
    live_settings,
    postgres_server,
    private_database,
    redis_server,
)
from tests.social.conftest import fake_mastodon_server, fake_x_server  # noqa: F401  (fixtures)
