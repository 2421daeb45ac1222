"""Fixtures the security tests share with the other suites: people of each role and the app's
clock (tests/web/staff), a served app and a pio token (tests/live)."""

from tests.live.conftest import channel, live, live_settings, pio_token  # noqa: F401  (fixtures)
from tests.web.staff.conftest import clock, people  # noqa: F401  (fixtures)
