"""The console's fixtures (people of each role, the app's clock) for the fault tests too."""

from tests.console.conftest import clock, people  # noqa: F401  (fixtures)
