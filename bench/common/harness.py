"""Helpers the benchmarks share: free ports, a process's CPU and memory, waiting for a
server, the JSON API, and the websocket subscriber swarm (`subscribers.py`, run in
separate client processes so that the server's cost dominates what is measured)."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBSCRIBERS = HERE / "subscribers.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_open_file_limit(needed: int) -> None:
    """Raise this process's open-file limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < needed:
        sys.exit(f"the open-file limit is {hard}; {needed} are needed (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used, all threads, in seconds (schedstat: nanoseconds on CPU)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
    return total / 1e9


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def wait_for_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def post(url: str, token: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.load(response)
        return answer


def start_subscribers(
    url: str, total: int, workers: int, hello_id: int
) -> tuple[list[subprocess.Popen[str]], int, int]:
    """`total` websocket subscribers to `url` over `workers` processes; returns them, how many
    connected and how many failed to."""
    counts = [total // workers + (1 if n < total % workers else 0) for n in range(workers)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(SUBSCRIBERS), url, str(count), str(hello_id)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for count in counts
        if count
    ]
    opened = failed = 0
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"a subscriber process failed: {line}")
        opened += int(line[1])
        failed += int(line[2])
    return processes, opened, failed


def stop_subscribers(processes: list[subprocess.Popen[str]]) -> tuple[dict[int, list[float]], int, int]:
    """Receipts (marker index -> moments), duplicates and connections the server closed."""
    receipts: dict[int, list[float]] = {}
    duplicates = closed = 0
    for process in processes:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("stop\n")
        process.stdin.flush()
    for process in processes:
        assert process.stdout is not None
        report = json.loads(process.stdout.readline())
        for index, times in report["receipts"].items():
            receipts.setdefault(int(index), []).extend(times)
        duplicates += report["duplicates"]
        closed += report["closed"]
        process.wait(30)
    return receipts, duplicates, closed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
