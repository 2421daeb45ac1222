"""Which changes of a correction undo text that a newer version introduced.

A PIO who started from version N and publishes after a colleague's version M > N sends text
written against N: wherever it lacks text that a version after N brought in (and the current
version still has), publishing would silently revert that colleague. Each such revert is
named, with the version and its author, so the PIO sees it in words before publishing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from console.domain.diff import Change, Segment, word_diff
from console.models import UpdateVersion

# Unchanged runs this short between two changes are read as one change ("Station 4, 310 Birch"
# → "Fire Station 7, 55 Cedar" is one move of the shelter, not four edits).
_BRIDGE_CHARS = 10
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Revert:
    version: int
    kind: str
    author: str
    published_at: datetime
    text: str  # what that version introduced, which the new text takes out
    restores: bool = False  # True: that version only took `text` out, and the new text puts it back

    def audit_view(self) -> dict[str, object]:
        return {"version": self.version, "author": self.author, "text": self.text, "restores": self.restores}


@dataclass(frozen=True)
class Hunk:
    added: str  # the new side of one change ("" when it only took text out)
    removed: str
    new_words: frozenset[str] = frozenset()  # the words the change itself put in, lowercased


def words(text: str) -> frozenset[str]:
    return frozenset(word.lower() for word in _WORD.findall(text))


def hunks(old: str, new: str) -> list[Hunk]:
    """The changes from `old` to `new`, short unchanged runs between edits read as one change."""
    found: list[Hunk] = []
    hunk: list[Segment] = []

    def close() -> None:
        while hunk and hunk[-1].change is Change.SAME:
            hunk.pop()
        if any(s.change is not Change.SAME for s in hunk):
            has_added = any(s.change is Change.ADDED for s in hunk)
            added = "".join(s.text for s in hunk if s.change is not Change.REMOVED).strip()
            removed = "".join(s.text for s in hunk if s.change is not Change.ADDED).strip()
            new_words = frozenset().union(*(words(s.text) for s in hunk if s.change is Change.ADDED))
            found.append(Hunk(added if has_added else "", removed, new_words))
        hunk.clear()

    for segment in word_diff(old, new):
        if segment.change is Change.SAME and (len(segment.text) > _BRIDGE_CHARS or not hunk):
            close()
            continue
        hunk.append(segment)
    close()
    return found


def introduced(old: str, new: str) -> list[str]:
    """The phrases `new` brings in over `old`, each read as the new side of one change."""
    return [hunk.added for hunk in hunks(old, new) if hunk.added]


def reverts(
    versions: Sequence[UpdateVersion], started_from: int, headline: str | None, body: str
) -> list[Revert]:
    """What the text (`headline`, `body`) written from version `started_from` takes out of the
    text the versions after it introduced and the newest still has. `versions`: oldest first."""
    by_number = {v.version: v for v in versions}
    current = versions[-1]
    found: list[Revert] = []
    for version in versions:
        earlier = by_number.get(version.version - 1)
        if version.version <= started_from or earlier is None:
            continue
        for old, new, now, sent in (
            (earlier.headline or "", version.headline or "", current.headline or "", headline or ""),
            (earlier.body, version.body, current.body, body),
        ):
            for hunk in hunks(old, new):
                # Undone: the current text still has the change, the sent text lacks a word it
                # put in (rewording around it, "Elm St, Pine St and Oak St", undoes nothing).
                if hunk.added and hunk.added in now and not hunk.new_words <= words(sent):
                    found.append(_revert(version, hunk.added))
                elif not hunk.added and hunk.removed not in now and hunk.removed in sent:
                    found.append(_revert(version, hunk.removed, restores=True))
    return found


def _revert(version: UpdateVersion, text: str, *, restores: bool = False) -> Revert:
    return Revert(
        version.version, version.kind.value, version.author_name, version.published_at, text, restores
    )
