"""The flash-crowd benchmark's own machinery works end to end at a tiny size (not timed: the
figures are the benchmark's business, see README "Flash crowd benchmark")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the load benchmark in subprocesses

ROOT = Path(__file__).resolve().parents[1]
FIGURES = [
    "page, console under load",
    "page, reference under the crowd",
    "feed, console under load",
    "feed, reference under the crowd",
    "publish, under load",
    "publish, no crowd",
    "push, under load",
    "push, no crowd",
]


def test_bench_load_runs_at_a_tiny_size_and_prints_every_figure(tmp_path: Path) -> None:
    command = [
        sys.executable, "bench/load/run.py",
        "--subscribers", "20", "--clients", "5", "--duration", "3", "--interval", "1",
        "--baseline", "1", "--baseline-interval", "0.2", "--reference-duration", "1",
        "--settle", "0.2", "--drain", "1", "--workers", "1",
        "--subscriber-processes", "2", "--client-processes", "1",
        "--database-url", f"sqlite:///{tmp_path}/console.db",
        "--broadcast-url", "memory://", "--outbox", "in-process",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = done.stdout
    verdicts = re.findall(r"^target .*: (PASS|FAIL)$", output, re.M)
    assert len(verdicts) == 5, output + done.stderr
    # The exit code says whether every target was met; at this size and on a busy machine the
    # timed ones (page and feed p99) may not be, which is the benchmark's business, not this test's.
    assert done.returncode == (1 if "FAIL" in verdicts else 0), output + done.stderr
    for figure in FIGURES:
        row = re.search(rf"^{re.escape(figure)}\s+([\d.]+)\s+([\d.]+)\s+[\d.]+\s+([\d,]+)$", output, re.M)
        assert row, f"{figure!r} missing from:\n{output}"
        assert int(row[3].replace(",", "")) > 0, figure  # p50/p99 of real samples
    # 20 subscribers x (1 + 3) publications, every one received exactly once.
    assert re.search(r"^  events missed \(subscriber x publication\)\s+0$", output, re.M)
    assert re.search(r"^push, under load\s+\S+\s+\S+\s+\S+\s+60$", output, re.M)
    assert re.search(r"^  total\s+0$", output, re.M)
    assert "server peak RSS:" in output and "CPUs busy meanwhile" in output
    for target in ("zero errors", "publish p99 < 250 ms", "push p99 < 1000 ms"):
        assert re.search(rf"^target {re.escape(target)}: .*: PASS$", output, re.M), target
