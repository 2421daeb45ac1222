"""Fixtures the fault tests share with the other suites: people of each role and the app's clock
(tests/web/staff), a served app, a pio token and the private PostgreSQL and Redis servers these tests
may stop and start (tests/live), and the fake social networks (tests/social)."""

from tests.live.conftest import (  # noqa: F401  (fixtures)
    channel,
    live,
    live_settings,
    pio_token,
    postgres_server,
    private_database,
    redis_server,
)
from tests.social.conftest import fake_mastodon_server, fake_x_server  # noqa: F401  (fixtures)
from tests.web.staff.conftest import clock, people  # noqa: F401  (fixtures)
