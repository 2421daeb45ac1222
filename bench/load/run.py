"""Benchmark: a flash crowd on the live page and the feeds while residents' websockets wait
for updates and a PIO keeps publishing.

    .venv/bin/python bench/load/run.py [--subscribers 10000] [--clients 2000] [--duration 60]

1. Creates a scratch PostgreSQL database (`--database-url` to use another), migrates it as
   the Procfile's `release:` line does, and starts the Procfile's `web:` line (uvicorn on
   the app factory) with `--workers N`, all workers sharing `BROADCAST_URL` on Redis.
2. Connects the websocket subscribers to the incident's `/live` stream, over several client
   processes (`bench/common/subscribers.py`).
3. Unloaded: publishes --baseline updates through the JSON API (publish latency = the API
   call; push latency = from the API's answer to the frame at each subscriber).
4. Loaded: the HTTP crowd (`bench/common/crowd.py`, keep-alive clients in several
   processes, random think time) fetches the incident page, the index and the feeds in a
   loop for --duration seconds while the PIO publishes every --interval seconds.
5. Reference: the same crowd for --reference-duration seconds against a minimal Starlette
   app (`reference.py`, same uvicorn command line and workers) answering with the bytes
   the console answered (after the console has stopped).
6. Prints p50/p99 of page, feed, publish and push, every error (HTTP errors, timeouts,
   dropped websockets, missed or duplicated events, failed publications), the peak RSS of
   the server processes, and ratios: loaded / unloaded, console / reference.

Targets: zero errors, page and feed p99 < 50 ms, publish p99 < 250 ms, push p99 < 1 s. Exit
status 0 only if all are met.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


from bench.common.deployment import (  # noqa: E402
    Console,
    Publications,
    add_arguments,
    procfile_console,
    publish_every,
    scratch_database,
    web_command,
)
from bench.common.harness import (  # noqa: E402
    cpu_seconds,
    crowd_go,
    free_port,
    machine_busy_seconds,
    peak_rss_bytes,
    percentile,
    process_tree,
    raise_open_file_limit,
    start_crowd,
    start_subscribers,
    stop_crowd,
    stop_subscribers,
    wait_for_http,
)

PAGE_P99_MS = 50  # pages and feeds alike, during publications included
PUBLISH_P99_MS = 250
PUSH_P99_MS = 1000


@contextmanager
def console_server(workdir: Path, args: argparse.Namespace) -> Iterator[Console]:
    with (
        scratch_database(args.database_url, "bench_load") as database_url,
        procfile_console(
            workdir,
            database_url,
            broadcast_url=args.broadcast_url,
            workers=args.workers,
            outbox_in_worker=args.outbox == "worker",
            outbox_poll=args.outbox_poll,
        ) as console,
    ):
        yield console


def capture_answers(base: str, paths: list[list[str]], into: Path) -> None:
    """The console's answers (gzip when it gives it), for the reference to send the same bytes."""
    answers = {}
    for _, path in paths:
        request = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as response:
            body = response.read()
            headers = {
                name: value
                for name, value in response.headers.items()
                if name.lower() in ("content-type", "content-encoding", "cache-control", "etag", "vary")
            }
        answers[path] = [base64.b64encode(body).decode(), headers]
    into.write_text(json.dumps(answers))


@contextmanager
def reference_server(answers: Path, workers: int) -> Iterator[tuple[int, int]]:
    port = free_port()
    command = web_command(port, workers)
    command[command.index("console.web.app:create_server_app")] = "bench.load.reference:create_app"
    env = {**os.environ, "REFERENCE_ANSWERS": str(answers), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/")
        yield server.pid, port
    finally:
        server.terminate()
        server.wait(60)


def crowd_phase(
    port: int,
    paths: list[list[str]],
    args: argparse.Namespace,
    duration: float,
    during: Callable[[], None] | None = None,
) -> tuple[dict[str, list[float]], dict[str, int], float]:
    """The crowd's latencies by kind, its errors, and the CPU seconds the crowd itself used."""
    crowd = start_crowd(
        "127.0.0.1", port, args.clients, args.client_processes, args.think, args.timeout, paths
    )
    crowd_go(crowd)
    if during is not None:
        during()
    else:
        time.sleep(duration)
    used = sum(cpu_seconds(process.pid) for process in crowd)
    return (*stop_crowd(crowd), used)


def figures(values: list[float]) -> str:
    return (
        f"{percentile(values, 50):8.1f}{percentile(values, 99):9.1f}{max(values, default=float('nan')):9.1f}"
    )


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


def run(args: argparse.Namespace, workdir: Path) -> bool:
    with console_server(workdir, args) as console:
        port = console.port
        subscribers, opened, failed_connects = start_subscribers(
            console.live_url,
            args.subscribers,
            args.subscriber_processes,
            console.hello_id,
        )
        time.sleep(args.settle)
        unloaded, loaded = Publications(), Publications()
        publish_every(console.publish, args.baseline_interval, unloaded, 0, args.baseline)
        publications = max(1, int(args.duration // args.interval))
        server_pids = process_tree(console.pid) + ([console.worker_pid] if console.worker_pid else [])
        server_cpu = sum(cpu_seconds(pid) for pid in server_pids)
        machine_busy = machine_busy_seconds()
        load_started = time.monotonic()
        subscribers_cpu = sum(cpu_seconds(process.pid) for process in subscribers)
        latencies, errors, crowd_cpu = crowd_phase(
            port,
            console.paths,
            args,
            args.duration,
            lambda: publish_every(console.publish, args.interval, loaded, args.baseline, publications),
        )
        load_seconds = time.monotonic() - load_started
        server_cores = (sum(cpu_seconds(pid) for pid in server_pids) - server_cpu) / load_seconds
        machine_cores = (machine_busy_seconds() - machine_busy) / load_seconds
        client_cores = (
            crowd_cpu + sum(cpu_seconds(process.pid) for process in subscribers) - subscribers_cpu
        ) / load_seconds
        time.sleep(args.drain)
        receipts, duplicates, closed = stop_subscribers(subscribers)
        peaks = {pid: peak_rss_bytes(pid) for pid in server_pids}
        answers = workdir / "answers.json"
        capture_answers(console.base, console.paths, answers)
    with reference_server(answers, args.workers) as (_, reference_port):
        reference_latencies, reference_errors, _ = crowd_phase(
            reference_port, console.paths, args, args.reference_duration
        )

    push_unloaded = unloaded.push_latencies_ms(receipts)
    push_loaded = loaded.push_latencies_ms(receipts)
    expected = opened * (len(unloaded.answered) + len(loaded.answered))
    missed = expected - len(push_unloaded) - len(push_loaded)
    requests = sum(len(values) for values in latencies.values())
    error_lines = {
        **{f"HTTP {reason}": count for reason, count in errors.items()},
        "websockets that failed to connect": failed_connects,
        "websockets closed by the server": closed,
        "events missed (subscriber x publication)": missed,
        "events received twice": duplicates,
        "publications failed": len(unloaded.failed) + len(loaded.failed),
    }
    total_errors = sum(error_lines.values())

    print(
        f"\nflash crowd: {args.clients:,} HTTP clients (think {args.think:g} s, {args.client_processes} "
        f"processes), {opened:,} websocket subscribers ({args.subscriber_processes} processes), "
        f"{args.workers} uvicorn workers, outbox {args.outbox}, "
        f"one publication every {args.interval:g} s for {args.duration:g} s"
    )
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"HTTP requests answered under load: {requests:,} ({requests / load_seconds:,.0f}/s); "
        f"CPUs busy meanwhile: server {server_cores:.2f}, its clients {client_cores:.2f}, "
        f"whole machine {machine_cores:.2f} of {os.cpu_count()}\n"
    )
    print(f"{'figure (ms)':<36}{'p50':>8}{'p99':>9}{'max':>9}{'count':>9}")
    rows = [
        ("page, console under load", latencies.get("page", [])),
        ("page, reference under the crowd", reference_latencies.get("page", [])),
        ("feed, console under load", latencies.get("feed", [])),
        ("feed, reference under the crowd", reference_latencies.get("feed", [])),
        ("publish, under load", loaded.latencies_ms()),
        ("publish, no crowd", unloaded.latencies_ms()),
        ("push, under load", push_loaded),
        ("push, no crowd", push_unloaded),
    ]
    for name, values in rows:
        print(f"{name:<36}{figures(values)}{len(values):>9,}")
    p99 = {
        name.replace(", console under load", "").replace(" under the crowd", ""): percentile(values, 99)
        for name, values in rows
    }
    print("\nratios of p99s:")
    for name, over, under in [
        ("page console / reference", "page", "page, reference"),
        ("feed console / reference", "feed", "feed, reference"),
        ("publish under load / no crowd", "publish, under load", "publish, no crowd"),
        ("push under load / no crowd", "push, under load", "push, no crowd"),
    ]:
        print(f"  {name:<34}{ratio(p99[over], p99[under])}")
    print("\nerrors:")
    for reason, count in error_lines.items():
        print(f"  {reason:<44}{count:>8,}")
    if reference_errors:
        print(f"  (reference server: {sum(reference_errors.values())} errors: {reference_errors})")
    print(f"  {'total':<44}{total_errors:>8,}")
    print(
        f"\nserver peak RSS: {sum(peaks.values()) / 2**20:.0f} MB in {len(peaks)} processes "
        f"({', '.join(f'{peak / 2**20:.0f}' for peak in peaks.values())} MB)"
    )
    verdicts = [
        ("zero errors", total_errors == 0, f"{total_errors}"),
        *(
            (
                f"{what} p99 under load < {PAGE_P99_MS} ms",
                p99[what] < PAGE_P99_MS,
                f"{p99[what]:.0f} ms",
            )
            for what in ("page", "feed")
        ),
        (
            f"publish p99 < {PUBLISH_P99_MS} ms",
            p99["publish, under load"] < PUBLISH_P99_MS,
            f"{p99['publish, under load']:.0f} ms",
        ),
        (
            f"push p99 < {PUSH_P99_MS} ms",
            p99["push, under load"] < PUSH_P99_MS,
            f"{p99['push, under load']:.0f} ms",
        ),
    ]
    print()
    for name, met, value in verdicts:
        print(f"target {name}: {value}: {'PASS' if met else 'FAIL'}")
    return all(met for _, met, _ in verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000, help="websocket subscribers")
    parser.add_argument("--clients", type=int, default=2_000, help="concurrent HTTP clients")
    parser.add_argument("--duration", type=float, default=60, help="seconds of crowd and publications")
    parser.add_argument("--interval", type=float, default=5, help="seconds between publications")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a client waits between requests"
    )
    parser.add_argument("--timeout", type=float, default=10, help="seconds after which a request is an error")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (--workers)")
    parser.add_argument(
        "--outbox",
        choices=["worker", "in-process"],
        default="worker",
        help="deliver the outbox in the Procfile's worker: process (OUTBOX_IN_PROCESS=false on the web "
        "workers), or inside the web workers",
    )
    parser.add_argument("--outbox-poll", type=float, default=1.0, help="OUTBOX_POLL_SECONDS")
    parser.add_argument("--subscriber-processes", type=int, default=4)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--baseline", type=int, default=3, help="publications with no crowd, first")
    parser.add_argument("--baseline-interval", type=float, default=2)
    parser.add_argument("--reference-duration", type=float, default=20)
    parser.add_argument("--settle", type=float, default=3, help="seconds to wait after connecting")
    parser.add_argument("--drain", type=float, default=3, help="seconds to wait after the crowd for pushes")
    add_arguments(parser, "--broadcast-url", "BROADCAST_URL for the workers")
    parser.add_argument("--keep", action="store_true", help="keep the server's log and files")
    args = parser.parse_args()
    # Raised here, inherited by the server and the client processes.
    raise_open_file_limit(args.subscribers // max(args.workers, 1) + args.clients + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        passed = run(args, workdir)
    finally:
        if args.keep:
            print(f"\nthe server's log and files are in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
