"""Benchmark: splitting a 5,000-character update into a run of posts (issue 13).

Run: `make bench-social-runs` (or `.venv/bin/python bench/social_runs/run.py [--repeat N]`).

For each adversarial body (5,000 characters: words, CJK, one long word, emoji sequences,
links, combining accents, no sentence ends, dotted labels), and for X (twitter-text's count)
and Mastodon (500, links 23):

- the time `post_runs.split` takes (median of N), against a reference measured in the same
  run: the network's count of each post of the result, once (what any splitter that confirms
  its posts must spend at least; ratio = split / reference);
- the characters handed to the count in all, per character of the body (the splitter's own
  work, whatever the count costs: a few, whatever the text), and the longest single one;
- linearity: the time for the first 5,000 characters against the first 2,500 (about 2 when
  the work is linear; about 4 if it were quadratic).

twitter-text's own count is superlinear on runs of dotted labels (`a.a.a…`), a matter of the
count, not of the splitter (see console/domain/post_length.py where present): that body is
timed for Mastodon only, and its characters measured are counted for both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.domain import post_runs, wording  # noqa: E402
from console.domain.post_runs import TextRules  # noqa: E402

LABEL = "CORRECTION: PRELIMINARY: "
LINK = "https://alerts.example.gov/incidents/evacuation-north-of-the-river#update-12"
SIZE = 5000


def bodies() -> dict[str, str]:
    def sized(unit: str) -> str:
        return (unit * (SIZE // len(unit) + 1))[:SIZE]

    return {
        "words": sized("Residents of Elm St must leave now by Route 9; shelters are open. "),
        "cjk": sized("東京都新宿区で火災が発生しました。付近の住民は直ちに避難してください。"),
        "one word": "x" * SIZE,
        "emoji": sized("🚨🔥👨‍👩‍👧‍👦🏳️‍🌈 "),
        "links": sized("See https://maps.example.org/" + "zone/" * 40 + " now. "),
        "accents": sized("e\u0301"),
        "no sentence ends": sized("keep away from the river bank "),
        "dotted": sized("a."),
    }


NETWORKS: dict[str, TextRules] = {"X": wording.X_RULES, "Mastodon": wording.MASTODON_DEFAULT_RULES}
X_TOO_SLOW = {"dotted"}  # twitter-text's count itself, see the module docstring


def timed(work: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def counted(text: str, rules: TextRules) -> tuple[int, int, int]:
    """(posts, characters measured in all, longest measurement)."""
    measured: list[int] = []

    def counting(post: str) -> int:
        measured.append(len(post))
        return rules.measure(post)

    posts = post_runs.split(LABEL, text, LINK, TextRules(counting, rules.limit))
    return len(posts), sum(measured), max(measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timings per figure (median)")
    args = parser.parse_args()
    print(
        f"{'body':<17} {'network':<9} {'posts':>5} {'split ms':>9} {'ref ms':>8} {'ratio':>6} "
        f"{'measured/char':>13} {'longest':>7} {'5000/2500':>9}"
    )
    worst_measured = 0.0
    for name, body in bodies().items():
        for network, rules in NETWORKS.items():
            posts, measured, longest = counted(body, rules)
            worst_measured = max(worst_measured, measured / len(body))
            if network == "X" and name in X_TOO_SLOW:
                print(
                    f"{name:<17} {network:<9} {posts:>5} {'—':>9} {'—':>8} {'—':>6} "
                    f"{measured / len(body):>13.2f} {longest:>7} {'—':>9}"
                )
                continue
            split = timed(
                lambda body=body, rules=rules: post_runs.split(LABEL, body, LINK, rules), args.repeat
            )
            result = post_runs.split(LABEL, body, LINK, rules)
            reference = timed(
                lambda result=result, rules=rules: [rules.measure(p) for p in result], args.repeat
            )
            short = body[: SIZE // 2]
            split_short = timed(
                lambda short=short, rules=rules: post_runs.split(LABEL, short, LINK, rules), args.repeat
            )
            print(
                f"{name:<17} {network:<9} {posts:>5} {split * 1000:>9.1f} {reference * 1000:>8.1f} "
                f"{split / reference:>6.1f} {measured / len(body):>13.2f} {longest:>7} "
                f"{split / split_short:>9.1f}"
            )
    print(f"\nmost characters measured per character of a body: {worst_measured:.2f}")


if __name__ == "__main__":
    main()
