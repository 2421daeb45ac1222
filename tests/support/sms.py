"""Reading an alert sent as several SMS messages as one text."""

from __future__ import annotations


def as_one(messages: list[str], every: str = "") -> str:
    """The messages' text joined, each checked to start with `every` (a drill's "EXERCISE: "),
    which is taken off all but the first."""
    assert all(message.startswith(every) for message in messages), messages
    return " ".join([messages[0], *(message.removeprefix(every) for message in messages[1:])])
