"""Apply a PIO's edit to a newer version: a three-way merge of the text they started from, their
edit and the colleague's newer version, with every overlapping change left for the PIO to pick.

The merge runs on words, each with the whitespace before it. Updates are a few sentences, often
one line, so a line merge would turn any two edits into one conflict; a sentence merge would
make "Open until 6 am." added after a colleague's corrected sentence a conflict. Words let edits
to different places merge, while edits to the same words always conflict. Whitespace rides with
the word after it so that appending a sentence keeps the last word of the old text matching.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from merge3 import Merge3

from console.domain.previews import DraftText

Side = Literal["mine", "theirs"]
SIDES: tuple[Side, ...] = ("mine", "theirs")
_TOKEN = re.compile(r"\s*\S+|\s+")
_BRIDGE_TOKENS = 2
_SENTENCE_END = re.compile(r"[.!?。！？]\W*$")  # a conflict never reaches over into the next sentence


@dataclass(frozen=True)
class Conflict:
    """Both sides changed the same words: never settled without the PIO."""

    number: int  # unique across the headline and body of one merge
    base: str
    mine: str
    theirs: str

    def side(self, side: Side) -> str:
        return self.mine if side == "mine" else self.theirs


Piece = str | Conflict


@dataclass(frozen=True)
class MergedText:
    pieces: tuple[Piece, ...]

    @property
    def conflicts(self) -> list[Conflict]:
        return [piece for piece in self.pieces if isinstance(piece, Conflict)]

    def text(self, picks: Mapping[int, Side]) -> str:
        """The merged text with each conflict as picked (every conflict must be picked)."""
        return "".join(
            piece.side(picks[piece.number]) if isinstance(piece, Conflict) else piece for piece in self.pieces
        )


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@dataclass
class _Region:
    base: str
    mine: str
    theirs: str
    short: bool = False  # an unchanged run of at most _BRIDGE_TOKENS words within one sentence

    @property
    def changed(self) -> bool:
        return not (self.base == self.mine == self.theirs)

    @property
    def conflicting(self) -> bool:
        return self.base != self.mine and self.base != self.theirs and self.mine != self.theirs

    def text(self) -> str:
        return self.mine if self.mine != self.base else self.theirs


def _regions(base: list[str], mine: list[str], theirs: list[str]) -> list[_Region]:
    """merge3's sync regions (unchanged on both sides) and the gaps between them, in order."""
    found: list[_Region] = []
    z = m = t = 0
    for z_start, z_end, m_start, m_end, t_start, t_end in Merge3(base, mine, theirs).find_sync_regions():
        gap = _Region("".join(base[z:z_start]), "".join(mine[m:m_start]), "".join(theirs[t:t_start]))
        if gap.changed:
            found.append(gap)
        same = "".join(base[z_start:z_end])
        if same:
            bridge = base[z_start:z_end]
            short = len(bridge) <= _BRIDGE_TOKENS and not any(_SENTENCE_END.search(word) for word in bridge)
            found.append(_Region(same, same, same, short=short))
        z, m, t = z_end, m_end, t_end
    return found


def _widened(regions: list[_Region]) -> list[_Region]:
    """A conflict takes in the changes a word or two away from it: "Station 4, 310 Birch" →
    "Fire Station 7, 55 Cedar" against "Station 5, …" is one choice, not "Fire" merged in and
    the rest to pick."""
    out: list[_Region] = []
    for region in regions:
        out.append(region)
        while (
            len(out) >= 3
            and out[-2].short
            and out[-1].changed
            and out[-3].changed
            and (out[-1].conflicting or out[-3].conflicting)
        ):
            last, bridge, first = out.pop(), out.pop(), out.pop()
            out.append(
                _Region(
                    first.base + bridge.base + last.base,
                    first.mine + bridge.mine + last.mine,
                    first.theirs + bridge.theirs + last.theirs,
                )
            )
    return out


def merge_text(base: str, mine: str, theirs: str, *, first_number: int = 0) -> MergedText:
    pieces: list[Piece] = []
    number = first_number
    for region in _widened(_regions(tokens(base), tokens(mine), tokens(theirs))):
        if region.conflicting:
            pieces.append(Conflict(number, region.base, region.mine, region.theirs))
            number += 1
        else:
            pieces.append(region.text())
    return MergedText(tuple(pieces))


@dataclass(frozen=True)
class MergedDraft:
    headline: MergedText
    body: MergedText
    preliminary: bool
    reason: str  # the PIO's own

    @property
    def conflicts(self) -> list[Conflict]:
        return self.headline.conflicts + self.body.conflicts

    def missing(self, picks: Mapping[int, Side]) -> list[int]:
        return [conflict.number for conflict in self.conflicts if conflict.number not in picks]

    def resolve(self, picks: Mapping[int, Side]) -> DraftText | None:
        """The merged draft, or None while a conflict is not yet picked."""
        if self.missing(picks):
            return None
        return DraftText(
            headline=self.headline.text(picks),
            body=self.body.text(picks),
            preliminary=self.preliminary,
            reason=self.reason,
        )


def merge_draft(base: DraftText, mine: DraftText, theirs: DraftText) -> MergedDraft:
    """`mine` and `theirs` both written from `base`. The PRELIMINARY box follows whichever side
    changed it (the PIO's own choice when both did)."""
    headline = merge_text(base.headline, mine.headline.strip(), theirs.headline)
    body = merge_text(base.body, mine.body.strip(), theirs.body, first_number=len(headline.conflicts))
    preliminary = mine.preliminary if mine.preliminary != base.preliminary else theirs.preliminary
    return MergedDraft(headline, body, preliminary, mine.reason)
