"""The one interface every fan-out channel implements.

A channel adapter says which event types it takes and delivers one claimed event at a
time. It reports the outcome by returning `Sent`/`Skipped` or raising `RetryLater`/
`GiveUp`/`ChannelFailing`; the dispatcher records it. Adding a channel means adding an adapter and
registering it in `console.channels.registry`, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from console.domain.outbox import Claim
from console.models import EventType

if TYPE_CHECKING:
    from typing import Self

    from console.db import Database
    from console.settings import Settings


@dataclass(frozen=True)
class Sent:
    external_id: str | None = None
    external_url: str | None = None
    detail: str | None = None
    note: str | None = None  # e.g. "adopted the post an interrupted attempt had made"


@dataclass(frozen=True)
class Skipped:
    reason: str
    detail: str | None = None


Outcome = Sent | Skipped


class RetryLater(Exception):
    """A transient failure (network, 5xx): try again after backoff, or after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GiveUp(Exception):
    """A failure retrying cannot fix; the delivery is marked failed until a person retries it."""


class ChannelFailing(Exception):
    """The channel as a whole cannot deliver (credentials rejected, account suspended).

    The dispatcher pauses the channel's lane (see `console.domain.channel_health`): the delivery
    goes back to pending with this error, and nothing more is sent until a person resumes it.
    """


class Channel(Protocol):
    name: ClassVar[str]
    accepts: ClassVar[frozenset[EventType]]
    # True: deliveries go out strictly in event order, a retrying one holding back the rest.
    ordered: ClassVar[bool]
    timeout_seconds: ClassVar[float]

    async def deliver(self, claim: Claim) -> Outcome: ...


@runtime_checkable
class Urgent(Protocol):
    """A channel whose deliveries go out at once, while the other channels of a process that
    pushes to residents wait (a moment at most) for that push to be done (`live`)."""

    urgent: ClassVar[bool]


class ChannelFromSettings(Channel, Protocol):
    """A channel that needs only the settings and the database (every one but `live`)."""

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> Self: ...


@runtime_checkable
class BackgroundWork(Protocol):
    """A channel whose deliveries start longer work (the `subscribers` fan-out): the
    dispatcher runs it beside the lanes, and `drain` works it to the end too."""

    async def run_background(self) -> None: ...

    async def drain_background(self) -> bool:
        """Do all the work there is now; False if there was none."""
        ...

    def stop_background(self) -> None:
        """Take no more work: what is under way ends at its next safe point (the dispatcher is
        stopping, and cancels `run_background` once its lanes are done)."""
        ...
