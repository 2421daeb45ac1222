"""The scaling benchmark's machinery works end to end at a tiny size, on both buses (not
timed: the figures are the benchmark's business, see README "Scaling out")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # deploys the console in subprocesses, on the local PostgreSQL and Redis

ROOT = Path(__file__).resolve().parents[1]


def test_bench_scaling_runs_at_a_tiny_size_on_both_buses_and_prints_the_table_and_arithmetic() -> None:
    command = [
        sys.executable, "bench/scaling/run.py",
        "--subscribers", "40", "--processes", "1", "2", "--bus", "both", "--publications", "2",
        "--interval", "0.5", "--idle", "1", "--settle", "1", "--drain", "1", "--client-processes", "2",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = done.stdout
    assert done.returncode == 0, output + done.stderr
    for processes, bus in [(1, "redis"), (2, "redis"), (1, "postgres"), (2, "postgres"), (1, "reference")]:
        # every subscriber held by some process, every publication received once by each
        row = re.search(rf"^\s+{processes} {bus}\s+(\S+)\s.*\s(\d+)\s+(\d+)\s+[\d.]+$", output, re.M)
        assert row, f"{processes} {bus} missing from:\n{output}"
        held = [int(n.replace(",", "")) for n in row[1].split("-")]
        assert held[-1] <= 40 and (processes == 2 or held == [40]), row[0]
        assert (row[2], row[3]) == ("0", "0"), row[0]
    assert "found in the processes' sockets" not in output
    assert "arithmetic (redis" in output and "arithmetic (postgres" in output
    assert re.search(r"^errors \(.*\): 0$", output, re.M)
