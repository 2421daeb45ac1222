"""Fixtures of the console tests (people of each role, the app's clock) and of the live page
tests (a served app, a pio token) for the fault tests too."""

from tests.console.conftest import clock, people  # noqa: F401  (fixtures)
from tests.live.conftest import channel, live, live_settings, pio_token  # noqa: F401  (fixtures)
