"""The subscribers benchmark's machinery works end to end at a tiny size (not timed: the
figures are the benchmark's business, see README "Alerts to subscribers")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the subscribers benchmark in subprocesses

ROOT = Path(__file__).resolve().parents[1]


def test_bench_subscribers_runs_at_a_tiny_size_and_prints_every_figure() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "bench/subscribers/run.py",
            "--channel",
            "email",
            "--subscribers",
            "40",
            "--probe-interval",
            "0.3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "40 sent, 0 failed, 0 unknown; the sink counted 40" in out
    for figure in (
        "messages/s",
        "reference (bare smtplib loop)",
        "ratio console/reference",
        "worker RSS growth",
    ):
        assert figure in out, out


def test_bench_subscribers_push_half_runs_at_a_tiny_size_and_the_service_decrypts_every_push() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "bench/subscribers/run.py",
            "--channel",
            "push",
            "--push-subscribers",
            "30",
            "--probe-interval",
            "0.05",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "messages/s" not in out  # the email half did not run
    # The console's 30 pushes and the reference's 30, each verified (VAPID) and decrypted.
    assert "30 sent, 0 failed, 0 unknown; the push service received 30, decrypted 30, failed 0" in out
    assert "0 failed; the push service received 30, decrypted 30, failed 0" in out
    for figure in (
        "console: publish -> last delivery",
        "pushes/s",
        "reference (bare pywebpush.webpush loop, a pool of 4 threads = PUSH_CONCURRENCY",
        "ratio console/reference",
        "publish during the fan-out: p50",
        "worker RSS growth",
    ):
        assert figure in out, out
