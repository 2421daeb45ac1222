"""Benchmark: how long the garbage collector stops a web process holding 10,000 residents'
websockets, at the console's thresholds against the ones it used before (issue 20).

    .venv/bin/python bench/gc/run.py [--residents 10000] [--requests 3000000]

Each collection stops the whole process, pushes and page requests alike. This builds a heap
shaped like a busy web process (about 150 long-lived objects per resident's websocket,
connected while requests run) and then runs a crowd's garbage (short-lived objects, some in
reference cycles), under each threshold setting in a fresh process, and prints per
generation: how many collections, the longest pause and their total, in CPU time of the
collecting thread (so that whatever else the machine does does not count).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.web.app import GC_THRESHOLDS  # noqa: E402

BEFORE = (50_000, 20, 20)  # the thresholds of the flash-crowd runs of 2026-11-21
OBJECTS_PER_RESIDENT = 150
REQUESTS_PER_RESIDENT = 30  # the crowd keeps coming while residents connect


def a_requests_garbage(count: int) -> None:
    for _ in range(count):
        a: dict[str, object] = {}
        b = {"a": a, "items": [1, 2]}
        a["b"] = b  # a cycle: only the collector frees it
        [object() for _ in range(3)]


def measure(
    thresholds: tuple[int, int, int], residents: int, requests: int
) -> dict[str, dict[str, list[float]]]:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.thread_time()
        else:
            pauses.append((info["generation"], (time.thread_time() - started[0]) * 1000))

    gc.callbacks.append(timed)
    websockets = []
    third = OBJECTS_PER_RESIDENT // 3
    for n in range(residents):
        websockets.append(
            [[{} for _ in range(third)], [[] for _ in range(third)], [lambda n=n: n for _ in range(third)]]
        )
        a_requests_garbage(REQUESTS_PER_RESIDENT)
    connecting = list(pauses)
    pauses.clear()
    a_requests_garbage(requests)
    gc.callbacks.remove(timed)
    phases = {}
    for name, measured in (("while residents connect", connecting), ("the crowd, all connected", pauses)):
        by_generation: dict[str, list[float]] = {}
        for generation, ms in measured:
            by_generation.setdefault(str(generation), []).append(ms)
        phases[name] = by_generation
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3_000_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process measuring one setting
    args = parser.parse_args()
    if args.one:
        thresholds = tuple(int(part) for part in args.one.split(","))
        print(json.dumps(measure(thresholds, args.residents, args.requests)))  # type: ignore[arg-type]
        return
    print(
        f"{args.residents:,} residents' websockets (~{OBJECTS_PER_RESIDENT} objects each), "
        f"then {args.requests:,} requests' garbage"
    )
    longest: dict[tuple[int, int, int], float] = {}
    for label, thresholds in (("console (GC_THRESHOLDS)", GC_THRESHOLDS), ("reference (before)", BEFORE)):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                ",".join(map(str, thresholds)),
                "--residents",
                str(args.residents),
                "--requests",
                str(args.requests),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        print(f"\n{label}: thresholds {thresholds}")
        print(f"  {'phase':<28}{'generation':>11}{'count':>8}{'max ms':>9}{'total ms':>10}")
        worst = 0.0
        for phase, by_generation in json.loads(out).items():
            for generation, values in sorted(by_generation.items()):
                print(f"  {phase:<28}{generation:>11}{len(values):>8}{max(values):>9.1f}{sum(values):>10.0f}")
                if phase.startswith("the crowd") and generation != "2":
                    worst = max(worst, max(values))
        longest[thresholds] = worst
    print(
        f"\nlongest young or middle pause under the crowd: console {longest[GC_THRESHOLDS]:.1f} ms, "
        f"reference {longest[BEFORE]:.1f} ms, ratio {longest[GC_THRESHOLDS] / longest[BEFORE]:.2f}"
    )


if __name__ == "__main__":
    main()
