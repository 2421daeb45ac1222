"""Fixtures for the fault-injection suite: the fake social networks of tests/social, and the
private PostgreSQL and Redis servers of tests/live (servers these tests may stop and start)."""

from tests.live.conftest import postgres_server, private_database, redis_server  # noqa: F401  (fixtures)
from tests.social.conftest import fake_mastodon_server, fake_x_server  # noqa: F401  (fixtures)
