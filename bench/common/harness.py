"""Helpers the benchmarks share: free ports, a process's CPU and memory, waiting for a
server, the JSON API, and the websocket subscriber swarm (`subscribers.py`, run in
separate client processes so that the server's cost dominates what is measured)."""

from __future__ import annotations

import json
import os
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


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs have spent busy since boot (everything but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


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


CROWD = HERE / "crowd.py"


def start_crowd(
    host: str, port: int, clients: int, processes: int, think: float, timeout: float, paths: list[list[str]]
) -> list[subprocess.Popen[str]]:
    """`clients` HTTP clients over `processes` processes, created but idle until `crowd_go`."""
    counts = [clients // processes + (1 if n < clients % processes else 0) for n in range(processes)]
    started = [
        subprocess.Popen(
            [
                sys.executable,
                str(CROWD),
                host,
                str(port),
                str(count),
                str(think),
                str(timeout),
                json.dumps(paths),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for count in counts
        if count
    ]
    for process in started:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("a crowd process failed to start")
    return started


def _tell(processes: list[subprocess.Popen[str]], line: str) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(line + "\n")
        process.stdin.flush()


def crowd_go(processes: list[subprocess.Popen[str]]) -> None:
    _tell(processes, "go")


def stop_crowd(processes: list[subprocess.Popen[str]]) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Latencies in ms by kind of path, and errors by reason."""
    _tell(processes, "stop")
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for process in processes:
        assert process.stdout is not None
        report = json.loads(process.stdout.readline())
        for kind, values in report["latencies"].items():
            latencies.setdefault(kind, []).extend(values)
        for reason, count in report["errors"].items():
            errors[reason] = errors.get(reason, 0) + count
        process.wait(30)
    return latencies, errors


def peak_rss_bytes(pid: int) -> int:
    """The most memory the process has had resident (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def children(pid: int) -> list[int]:
    """The process's direct children (uvicorn's supervisor: its workers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue  # a thread that just ended
    return found


def established_connections(pid: int, port: int) -> int:
    """How many established TCP connections to local `port` the process holds (its sockets'
    inodes, looked up in /proc/net/tcp and tcp6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    established = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            # local address "ADDR:PORT" in hex; state 01 = ESTABLISHED; field 9 the inode
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                established += 1
    return established


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn's supervisor and its workers)."""
    found = [pid]
    for child in children(pid):
        found.extend(process_tree(child))
    return found
