"""Reading an alert sent as several SMS messages as one text."""

from __future__ import annotations

import re

NUMBER = re.compile(r"\((\d+)/(\d+)\) ")


def as_one(messages: list[str], every: str = "") -> str:
    """The messages' text joined, each checked to start with `every` (a drill's "EXERCISE: "),
    which is taken off all but the first, and, when there are several, then with its number
    ("(2/3) "), checked and taken off all."""
    assert all(message.startswith(every) for message in messages), messages
    texts = [message.removeprefix(every) for message in messages]
    if len(texts) > 1:
        numbers = [NUMBER.match(text) for text in texts]
        assert all(numbers), messages
        found = [(int(match.group(1)), int(match.group(2))) for match in numbers if match]
        assert found == [(number, len(texts)) for number in range(1, len(texts) + 1)], messages
        texts = [NUMBER.sub("", text, count=1) for text in texts]
    return every + " ".join(texts)
