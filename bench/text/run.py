"""Benchmark: X's weighted length of adversarial 5,000-character bodies (issue 14.2).

Run: `make bench-text` (or `.venv/bin/python bench/text/run.py [--repeat N]`).

For each shape (the adversarial bodies of tests/domain/test_post_length.py), the time of our linear
count (`console.domain.post_length.x_weight`, median of N) against twitter-text's own
`parse_tweet` (the reference, measured in the same run, once, in a child process stopped after
5 s: past that it is reported as "> 5 s" and the ratio as a lower bound), and whether the
two counts agree where the reference finished.

Then the whole cold preview of each shape (`console.domain.previews.preview` with its cache
cleared: the X and Mastodon runs, the SMS messages, the feed title and the card), the median
of N, against the same preview of ordinary prose of the same length (the reference; target:
every shape under 50 ms).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.text.served import ORDINARY  # noqa: E402
from console.domain import previews  # noqa: E402
from console.domain.post_length import x_weight  # noqa: E402
from console.models import AlertStatus, VersionKind  # noqa: E402
from tests.domain.test_post_length import ADVERSARIAL  # noqa: E402

REFERENCE_CAP = 5.0


def _reference(text: str, results: multiprocessing.Queue[tuple[float, int]]) -> None:
    from twitter_text import parse_tweet

    start = time.perf_counter()
    weight = parse_tweet(text).weightedLength
    results.put((time.perf_counter() - start, weight))


def reference(text: str) -> tuple[float, int] | None:
    """parse_tweet's time and count, or None when it runs past the cap."""
    results: multiprocessing.Queue[tuple[float, int]] = multiprocessing.Queue()
    child = multiprocessing.Process(target=_reference, args=(text, results))
    child.start()
    child.join(REFERENCE_CAP + 5)  # the child's own import time is not timed
    if child.is_alive():
        child.kill()
        child.join()
        return None
    seconds, weight = results.get()
    return (seconds, weight) if seconds < REFERENCE_CAP else None


def cold_preview_seconds(text: str, repeat: int) -> float:
    """The median time of a preview of `text` with nothing cached."""
    times = []
    for _ in range(repeat):
        previews.run_preview.cache_clear()
        start = time.perf_counter()
        previews.preview(
            previews.DraftText(body=text),
            kind=VersionKind.ORIGINAL,
            incident_slug="bench",
            alert_status=AlertStatus.ACTUAL,
            public_url="https://example.org",
            seq=1,
            now=datetime.now(UTC),
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'shape':22} {'chars':>5} {'ours ms':>9} {'parse_tweet ms':>15} {'ratio':>9}  agree")
    for name, text in ADVERSARIAL.items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            ours = x_weight(text)
            times.append(time.perf_counter() - start)
        mine = statistics.median(times)
        found = reference(text)
        if found is None:
            ref, ratio, agree = f"> {REFERENCE_CAP * 1000:.0f}", f"> {REFERENCE_CAP / mine:.0f}", "-"
        else:
            ref, ratio = f"{found[0] * 1000:.1f}", f"{found[0] / mine:.1f}"
            agree = "yes" if found[1] == ours else f"no ({ours} vs {found[1]})"
        print(f"{name:22} {len(text):>5} {mine * 1000:>9.2f} {ref:>15} {ratio:>9}  {agree}", flush=True)
    prose = cold_preview_seconds(ORDINARY, args.repeat)
    print(f"\ncold preview, every channel; ordinary prose (the reference): {prose * 1000:.1f} ms")
    print(f"{'shape':22} {'chars':>5} {'ms':>9} {'ratio':>9}")
    slowest = 0.0
    for name, text in ADVERSARIAL.items():
        seconds = cold_preview_seconds(text, args.repeat)
        slowest = max(slowest, seconds)
        print(f"{name:22} {len(text):>5} {seconds * 1000:>9.1f} {seconds / prose:>9.2f}", flush=True)
    print(f"slowest cold preview: {slowest * 1000:.1f} ms  (target < 50 ms)")


if __name__ == "__main__":
    main()
