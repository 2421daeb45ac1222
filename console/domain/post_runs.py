"""How a text too long for one social post becomes a numbered run of posts, every word kept.

A text that fits is one post: `{label}{text} {link}`. Otherwise it is a run of n posts, each
ending with its number, the label opening the first post and the link closing the last:

    {label}{piece 1} (1/n)
    {piece 2} (2/n)
    …
    {piece n} (n/n) {link}

The pieces are the text in order, whitespace collapsed; only the one space at each cut is
dropped. A post ends at a sentence end if that leaves it at least half as full as the last
word that fits would, else after the last word that fits. A word that cannot fit in a post
of its own (a long number, CJK or Thai without spaces, a broken link) is cut between
grapheme clusters, never inside one, so an emoji sequence, a letter with its accents or a
Hangul syllable stays whole; it fills the post it starts in.

One grapheme cluster heavier than a whole post (hundreds of combining marks) cannot be cut
without breaking it: it gets a post of its own, reported `over` (`Run.over`); the preview
shows it and the social delivery then posts none of the run, saying why. Nothing is ever
left out to make a post fit.

Speed: each distinct word (and, within words too long for a post, each distinct grapheme
cluster) is measured once with the network's own count; a post is planned from those weights
and then measured whole to confirm it, so a run costs a few measurements per post of about
the post's length, whatever the text.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import regex

# A word ending in one of these (then any closing quotes or brackets) ends a sentence: full
# stops, question and exclamation marks (Latin, Arabic, Armenian, Devanagari, Ethiopic).
_SPACED_ENDS = ".!?…։؟۔।॥።"
# These end a sentence even with no space after them: the CJK full-width marks.
_CJK_ENDS = "。！？｡"
_CLOSERS = "\"'’”»)]）」』】"
# Grapheme clusters (`\X`), with flags taken a pair of regional indicators at a time first:
# the regex package finds the clusters of a run of regional indicators in quadratic time
# (80 ms on 5,000), and a run is cut into pairs from its start either way.
_GRAPHEME = regex.compile(
    r"[\U0001F1E6-\U0001F1FF]{2}[\p{Grapheme_Cluster_Break=Extend}\p{Grapheme_Cluster_Break=SpacingMark}\u200d]*|\X"
)
# twitter-text's longest link: a longer word is never one link, so it is never measured whole.
LONGEST_LINK = 4096


@dataclass(frozen=True)
class TextRules:
    """How a network measures a post, and its limit."""

    measure: Callable[[str], int]
    limit: int


@dataclass(frozen=True)
class Run:
    """The posts of one text, in order (one post when it fits)."""

    posts: tuple[str, ...]
    weights: tuple[int, ...]  # each post by the network's count
    limit: int

    @property
    def over(self) -> tuple[bool, ...]:
        return tuple(weight > self.limit for weight in self.weights)


def number(position: int, total: int) -> str:
    return f"({position}/{total})"


def compose(label: str, pieces: list[str], link: str) -> list[str]:
    """The posts for the `pieces` of a text: one post, or a numbered run."""
    if len(pieces) == 1:
        return [f"{label}{pieces[0]} {link}"]
    total = len(pieces)
    posts = [f"{piece} {number(n, total)}" for n, piece in enumerate(pieces, 1)]
    posts[0] = label + posts[0]
    posts[-1] = f"{posts[-1]} {link}"
    return posts


def split(label: str, text: str, link: str, rules: TextRules) -> list[str]:
    """The posts that publish `label`, all of `text` and `link` within `rules`."""
    text = " ".join(text.split())
    if not text:
        return [f"{label}{link}"]
    return compose(label, pieces(label, text, link, rules), link)


def measured(posts: list[str], rules: TextRules) -> Run:
    return Run(tuple(posts), tuple(rules.measure(post) for post in posts), rules.limit)


def pieces(label: str, text: str, link: str, rules: TextRules) -> list[str]:
    """`text` (whitespace collapsed) cut into the pieces of its posts."""
    planner = _Planner(label, text, link, rules)
    if planner.fits_whole():
        return [text]
    digits = planner.likely_digits()
    while True:
        found = planner.pieces(digits)
        if len(str(len(found))) <= digits:
            return found
        digits = len(str(len(found)))  # more posts than that many digits number: reserve more


class _Cut(enum.IntEnum):
    """What lies between two atoms, from the worst place to end a post to the best."""

    GRAPHEME = 1  # inside a word
    WORD = 2  # a space
    SENTENCE = 3  # after a sentence's end


@dataclass(frozen=True)
class _Atom:
    """A word, or one grapheme cluster of a word too long for a post of its own."""

    start: int
    end: int
    weight: int
    before: _Cut  # what separates it from the atom before (a space unless GRAPHEME)
    splits_word: bool  # part of a word cut into clusters


class _Planner:
    def __init__(self, label: str, text: str, link: str, rules: TextRules) -> None:
        self.label, self.text, self.link, self.rules = label, text, link, rules
        self._weights: dict[str, int] = {}
        self.label_weight = self._weight(label) if label else 0
        self.link_weight = self._weight(f" {link}")
        self.estimate = 0  # the whole text's weight, roughly (`fits_whole`)

    def _weight(self, text: str) -> int:
        weight = self._weights.get(text)
        if weight is None:
            weight = self._weights[text] = self.rules.measure(text)
        return weight

    def _word_weight(self, word: str) -> int | None:
        """The word's weight, or None for a word that surely outweighs a post (not measured:
        twitter-text's link search takes time quadratic in a long run of CJK, for one)."""
        if len(word) > LONGEST_LINK + self.rules.limit:
            return None  # longer than any link, so even one link in it leaves too much
        # No link in it (every one has a dot), each grapheme cluster weighs at least 1.
        no_link = "." not in word and ":" not in word
        if no_link and len(word) > self.rules.limit and len(_GRAPHEME.findall(word)) > self.rules.limit:
            return None
        return self._weight(word)

    def fits_whole(self) -> bool:
        words = self.text.split(" ")
        weights = [self._word_weight(word) for word in words]
        self.estimate = sum(w if w is not None else len(word) for w, word in zip(weights, words, strict=True))
        self.estimate += self.label_weight + len(words) - 1 + self.link_weight
        if self.estimate > self.rules.limit or None in weights:
            return False
        return self.rules.measure(f"{self.label}{self.text} {self.link}") <= self.rules.limit

    def likely_digits(self) -> int:
        """How wide the run's numbers will likely be, so that it is usually planned once."""
        room = max(self.rules.limit - len(" (99/99)"), 1)
        return len(str(max(self.estimate // room + 1, 1)))

    def _atoms(self, reserve_weight: int) -> list[_Atom]:
        """The text as atoms: words, but the clusters of any word that no post can hold."""
        atoms: list[_Atom] = []
        at = 0
        ended = False  # the word before ends a sentence
        words = self.text.split(" ")
        for index, word in enumerate(words):
            before = _Cut.SENTENCE if ended else _Cut.WORD
            weight = self._word_weight(word)
            # The first word shares its post with the labels, the last with the link.
            room = self.rules.limit - reserve_weight
            room -= (self.label_weight if index == 0 else 0) + (
                self.link_weight if index == len(words) - 1 else 0
            )
            if weight is not None and weight <= room:
                atoms.append(_Atom(at, at + len(word), weight, before, False))
            else:
                closed = False  # the clusters so far end with a CJK sentence end
                for match in _GRAPHEME.finditer(word):
                    cluster = match.group()
                    if match.start() > 0:
                        before = _Cut.SENTENCE if closed and cluster not in _CLOSERS else _Cut.GRAPHEME
                    atoms.append(
                        _Atom(at + match.start(), at + match.end(), self._weight(cluster), before, True)
                    )
                    closed = cluster in _CJK_ENDS or (closed and cluster in _CLOSERS)
            stripped = word.rstrip(_CLOSERS)
            ended = bool(stripped) and stripped[-1] in _SPACED_ENDS + _CJK_ENDS
            at += len(word) + 1
        atoms[0] = _Atom(atoms[0].start, atoms[0].end, atoms[0].weight, _Cut.WORD, atoms[0].splits_word)
        return atoms

    def pieces(self, digits: int) -> list[str]:
        layout = _Layout(self, digits)
        found: list[str] = []
        first = 0
        while first < len(layout.atoms):
            is_first = not found
            everything = len(layout.atoms)
            if layout.estimate(first, everything, is_first, last=True) <= self.rules.limit and layout.fits(
                first, everything, is_first, last=True
            ):
                found.append(layout.piece(first, everything))
                break
            end = layout.plan(first, is_first)
            if not layout.fits(first, end, is_first, last=False):
                end = layout.shrink(first, end, is_first)
            found.append(layout.piece(first, end))
            first = end
        return found


class _Layout:
    """The text's atoms and their running weights, with room for numbers `digits` wide."""

    def __init__(self, planner: _Planner, digits: int) -> None:
        self.planner, self.text, self.limit = planner, planner.text, planner.rules.limit
        self.reserve = " " + number(10**digits - 1, 10**digits - 1)  # the widest number that wide
        self.reserve_weight = planner._weight(self.reserve)
        self.atoms = planner._atoms(self.reserve_weight)
        self.totals = [0]  # totals[k]: the weight of atoms[:k] with the spaces before them
        for atom in self.atoms:
            self.totals.append(self.totals[-1] + atom.weight + (atom.before is not _Cut.GRAPHEME))

    def piece(self, first: int, end: int) -> str:
        return self.text[self.atoms[first].start : self.atoms[end - 1].end]

    def estimate(self, first: int, end: int, is_first: bool, *, last: bool) -> int:
        """The weight of the post of atoms[first:end], from the atoms' own weights."""
        head = self.planner.label_weight if is_first else 0
        space = self.atoms[first].before is not _Cut.GRAPHEME  # dropped at the cut
        tail = self.planner.link_weight if last else 0
        return head + self.totals[end] - self.totals[first] - space + self.reserve_weight + tail

    def fits(self, first: int, end: int, is_first: bool, *, last: bool) -> bool:
        """Whether the post of atoms[first:end] fits, measured whole."""
        post = f"{self.planner.label if is_first else ''}{self.piece(first, end)}{self.reserve}"
        if last:
            post = f"{post} {self.planner.link}"
        return self.planner.rules.measure(post) <= self.limit

    def plan(self, first: int, is_first: bool) -> int:
        """Where the post starting at atom `first` should end (the atom after its last one),
        by the estimated weights; never at the end of the text (the last post has the link)."""
        atoms = self.atoms
        # The furthest end that fits: a binary search, as the estimate grows with the end.
        low, high = first + 1, len(atoms) - 1  # the answer lies in [low, high], low if none fits
        if high < low or self.estimate(first, low, is_first, last=False) > self.limit:
            return first + 1  # one atom heavier than a post: it goes alone, over
        while low < high:
            middle = (low + high + 1) // 2
            if self.estimate(first, middle, is_first, last=False) <= self.limit:
                low = middle
            else:
                high = middle - 1
        furthest = low
        best: dict[_Cut, int] = {}
        for end in range(furthest, first, -1):
            kind = atoms[end].before
            best.setdefault(kind, end)
            if kind is _Cut.SENTENCE:
                break  # nothing before it is better
        sentence = best.get(_Cut.SENTENCE)
        # A sentence's end is also a word's end.
        word = max((e for e in (sentence, best.get(_Cut.WORD)) if e is not None), default=None)
        reach = atoms[word if word is not None else furthest].start - atoms[first].start
        if sentence is not None and 2 * (atoms[sentence].start - atoms[first].start) >= reach:
            return sentence
        if word is None or atoms[word].splits_word:
            return furthest  # within a word no post can hold: fill this post up
        return word

    def shrink(self, first: int, end: int, is_first: bool) -> int:
        """The furthest end before `end` that really fits (the estimate was too low), or one
        atom alone (over) when none does."""
        low, high, found = first + 1, end - 1, first + 1
        while low <= high:
            middle = (low + high) // 2
            if self.fits(first, middle, is_first, last=False):
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found
