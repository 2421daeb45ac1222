"""Fixtures for the fault-injection suite: the fake social networks of tests/social and the
private PostgreSQL of tests/live (a server these tests may stop and start)."""

from tests.live.conftest import postgres_server, private_database  # noqa: F401  (fixtures)
from tests.social.conftest import fake_mastodon_server, fake_x_server  # noqa: F401  (fixtures)
