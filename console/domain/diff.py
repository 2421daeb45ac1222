"""Word-level differences between two texts, for showing what a correction changed."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# Words, runs of whitespace, and single punctuation marks: the units a reader sees change.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
# SequenceMatcher takes time up to the product of the two token counts (minutes on two
# 5,000-character bodies of repeated tokens). Past this product, the changed middle (after
# the common start and end) is shown as removed then added whole: coarser, never slow.
MAX_COMPARISONS = 250_000


class Change(enum.Enum):
    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class Segment:
    change: Change
    text: str


def word_diff(old: str, new: str) -> list[Segment]:
    """Segments that read as `new`, with removed text kept in place (removals before additions)."""
    before, after = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[Segment] = []
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    middle_before, middle_after = before[head : len(before) - tail], after[head : len(after) - tail]
    _append(segments, Change.SAME, "".join(before[:head]))
    if len(middle_before) * len(middle_after) > MAX_COMPARISONS:
        _append(segments, Change.REMOVED, "".join(middle_before))
        _append(segments, Change.ADDED, "".join(middle_after))
    else:
        _diff_middle(segments, middle_before, middle_after)
    _append(segments, Change.SAME, "".join(before[len(before) - tail :]))
    return segments


def _diff_middle(segments: list[Segment], before: list[str], after: list[str]) -> None:
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            _append(segments, Change.SAME, "".join(before[a1:a2]))
            continue
        if op in ("delete", "replace"):
            _append(segments, Change.REMOVED, "".join(before[a1:a2]))
        if op in ("insert", "replace"):
            _append(segments, Change.ADDED, "".join(after[b1:b2]))


def _append(segments: list[Segment], change: Change, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].change is change:
        segments[-1] = Segment(change, segments[-1].text + text)
    else:
        segments.append(Segment(change, text))


def changed(segments: list[Segment]) -> bool:
    return any(segment.change is not Change.SAME for segment in segments)
