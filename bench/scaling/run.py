"""Benchmark: is a web process's cost flat in the number of web processes? And what does that
make of 100,000 and 1,000,000 residents on the live page?

    .venv/bin/python bench/scaling/run.py [--subscribers 10000] [--processes 1 2 4]
                                          [--bus redis|postgres|both]

For each number of web processes N and each bus:

1. Deploys the console as the Procfile does (`bench/common/deployment.py`): a scratch
   PostgreSQL database, the `web:` line with `--workers N`, the `worker:` line, BROADCAST_URL
   on Redis or on the same PostgreSQL (LISTEN/NOTIFY).
2. Reads each web process's resident memory (VmRSS), then connects the subscribers to one
   incident's `/live` (`bench/common/subscribers.py`, several client processes); the kernel
   spreads them over the web processes, and each process's established connections on the
   port (its socket inodes in /proc/net/tcp) say how many it holds. Memory per subscriber =
   a process's RSS growth / the subscribers it holds.
3. Idle for --idle seconds: each process's CPU time (all threads, /proc/<pid>/task/*/schedstat)
   while it only holds its subscribers (pings, the stream's periodic read).
4. Publishes --publications updates through the JSON API, one every --interval seconds, and
   reads each process's CPU time from the first publication to --drain seconds after the
   last. CPU per push = that CPU time, less the idle rate over the same span, / (subscribers
   it holds x publications). CPU time, not wall time: it holds on a busy machine.
5. Checks that every subscriber received every publication once (missed, duplicates).

Then the same subscribers on the fan-out reference (`bench/fanout/reference.py`, one process
of websockets' own server calling broadcast() with frames of the console's size), and the
table: per-process figures and their ratios to the 1-process run (flat = 1.00), then the
arithmetic for 100,000 and 1,000,000 subscribers derived from the measured figures.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import deployment, harness  # noqa: E402
from bench.common.deployment import Console, Publications  # noqa: E402
from bench.fanout.run import frame_size, reference_server  # noqa: E402

PUSH_P99_TARGET_S = 1.0
MACHINE_CORES = (2, 8, 16)
AUDIENCES = (100_000, 1_000_000)


@dataclass
class WebProcess:
    pid: int
    rss_before: int = 0
    rss_after: int = 0
    subscribers: int = 0
    idle_cpu_per_second: float = 0.0
    publications_cpu: float = 0.0  # CPU seconds from the first publication to the end of the drain
    publications_seconds: float = 0.0  # that span

    @property
    def kb_per_subscriber(self) -> float:
        return (self.rss_after - self.rss_before) / 1024 / self.subscribers

    @property
    def push_cpu(self) -> float:
        """CPU seconds the publications cost it, beyond holding its subscribers."""
        return self.publications_cpu - self.idle_cpu_per_second * self.publications_seconds


@dataclass
class Run:
    processes: int
    bus: str
    web: list[WebProcess]
    record: Publications
    opened: int
    failed_connects: int
    received: int
    duplicates: int
    closed: int
    push_ms: list[float]
    load_average: tuple[float, float, float] = field(default_factory=os.getloadavg)

    @property
    def holding(self) -> list[WebProcess]:
        return [process for process in self.web if process.subscribers]

    @property
    def missed(self) -> int:
        return self.opened * len(self.record.answered) - self.received

    @property
    def kb_per_subscriber(self) -> float:
        return statistics.fmean(process.kb_per_subscriber for process in self.holding)

    @property
    def us_per_push(self) -> float:
        published = len(self.record.answered)
        return statistics.fmean(
            process.push_cpu / (process.subscribers * published) * 1e6 for process in self.holding
        )

    @property
    def ms_per_publication(self) -> float:
        published = len(self.record.answered)
        return statistics.fmean(process.push_cpu / published * 1000 for process in self.holding)

    @property
    def idle_us_per_subscriber_second(self) -> float:
        return statistics.fmean(
            process.idle_cpu_per_second / process.subscribers * 1e6 for process in self.holding
        )

    @property
    def rss_before_mb(self) -> float:
        return max(process.rss_before for process in self.web) / 2**20


def web_processes(master: int, count: int, timeout: float = 60) -> list[int]:
    """uvicorn's worker processes: the supervisor's children that multiprocessing spawned (not
    its resource tracker), or the supervisor itself when it serves alone (--workers 1)."""
    if count == 1:
        return [master]
    deadline = time.monotonic() + timeout
    while (
        len(found := [pid for pid in harness.children(master) if b"spawn_main" in command_line(pid)]) < count
    ):
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn started {len(found)} of {count} workers")
        time.sleep(0.2)
    return found


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def measure(
    processes: int,
    bus: str,
    pids: list[int],
    port: int,
    live_url: str,
    hello_id: int,
    publish: Callable[[int, Publications], None],
    args: argparse.Namespace,
) -> Run:
    """Steps 2 to 5 of the module's docstring, on the server processes `pids`."""
    web = [WebProcess(pid, rss_before=harness.rss_bytes(pid)) for pid in pids]
    # Connections it held already (an API call's, the frame probe's, not yet closed) are not subscribers.
    earlier = {pid: harness.established_connections(pid, port) for pid in pids}
    swarm, opened, failed_connects = harness.start_subscribers(
        live_url, args.subscribers, args.client_processes, hello_id
    )
    time.sleep(args.settle)
    for process in web:
        process.rss_after = harness.rss_bytes(process.pid)
        process.subscribers = harness.established_connections(process.pid, port) - earlier[process.pid]
    started, before = time.monotonic(), {process.pid: harness.cpu_seconds(process.pid) for process in web}
    time.sleep(args.idle)
    idle_seconds = time.monotonic() - started
    for process in web:
        process.idle_cpu_per_second = (harness.cpu_seconds(process.pid) - before[process.pid]) / idle_seconds
    record = Publications()
    started, before = time.monotonic(), {process.pid: harness.cpu_seconds(process.pid) for process in web}
    deployment.publish_every(publish, args.interval, record, 0, args.publications)
    time.sleep(args.drain)
    for process in web:
        process.publications_cpu = harness.cpu_seconds(process.pid) - before[process.pid]
        process.publications_seconds = time.monotonic() - started
    receipts, duplicates, closed = harness.stop_subscribers(swarm)
    push_ms = record.push_latencies_ms(receipts)
    received = sum(len(moments) for index, moments in receipts.items() if index in record.answered)
    return Run(processes, bus, web, record, opened, failed_connects, received, duplicates, closed, push_ms)


def bus_url(bus: str, database_url: str, args: argparse.Namespace) -> str:
    if bus == "redis":
        return str(args.redis_url)
    return "postgres://" + database_url.split("://", 1)[1]  # the console's own database


def console_run(processes: int, bus: str, workdir: Path, args: argparse.Namespace) -> tuple[Run, int]:
    """One deployment measured; also the size of the frame it pushes for an update."""
    with (
        deployment.scratch_database(args.database_url, "bench_scaling") as database_url,
        deployment.procfile_console(
            workdir, database_url, broadcast_url=bus_url(bus, database_url, args), workers=processes
        ) as console,
    ):
        pids = web_processes(console.pid, processes)
        size = frame_size(console.live_url, console.hello_id, lambda: warm_up(console))
        time.sleep(args.settle)  # every worker has handled the warm-up event
        run = measure(
            processes, bus, pids, console.port, console.live_url, console.head(), console.publish, args
        )
    return run, size


def warm_up(console: Console) -> None:
    harness.post(
        f"{console.base}/api/v1/incidents/{console.slug}/updates",
        console.token,
        {"body": deployment.BODY.format(i="warmup")},
    )


def reference_run(size: int, args: argparse.Namespace) -> Run:
    with reference_server(size) as target:

        def publish(index: int, record: Publications) -> None:
            # It broadcasts before it answers: its pushes are timed from the request.
            record.started[index] = record.answered[index] = time.monotonic()
            target.publish(index)

        port = urlsplit(target.ws_url).port
        assert port is not None
        return measure(1, "reference", [target.pid], port, target.ws_url, 0, publish, args)


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base > 0 else "n/a"


def print_table(runs: list[Run], reference: Run | None) -> None:
    print(
        f"\n{'processes':>9} {'bus':<10}{'subscribers/process':>22}{'KB/sub':>8}{'x1':>6}"
        f"{'CPU µs/push':>12}{'x1':>6}{'ms/pub':>7}{'idle µs/sub/s':>14}{'RSS MB':>7}{'push p50/p99 ms':>17}"
        f"{'missed':>7}{'dup':>5}{'load':>6}"
    )
    for run in [*runs, *([reference] if reference else [])]:
        first = next((r for r in runs if r.bus == run.bus and r.processes == 1), run)
        held = sorted(process.subscribers for process in run.web)
        spread = f"{held[0]:,}-{held[-1]:,}" if len(held) > 1 else f"{held[0]:,}"
        print(
            f"{run.processes:>9} {run.bus:<10}{spread:>22}{run.kb_per_subscriber:>8.1f}"
            f"{ratio(run.kb_per_subscriber, first.kb_per_subscriber):>6}{run.us_per_push:>12.1f}"
            f"{ratio(run.us_per_push, first.us_per_push):>6}{run.ms_per_publication:>7.1f}"
            f"{run.idle_us_per_subscriber_second:>14.2f}"
            f"{run.rss_before_mb:>7.0f}"
            f"{f'{harness.percentile(run.push_ms, 50):.0f} / {harness.percentile(run.push_ms, 99):.0f}':>17}"
            f"{run.missed:>7}{run.duplicates:>5}{run.load_average[0]:>6.1f}"
        )
        if run.failed_connects or run.closed or run.record.failed or sum(held) != run.opened:
            print(
                f"{'':>10}({run.failed_connects} failed to connect, {run.closed} closed by the server, "
                f"{len(run.record.failed)} publications failed, {sum(held):,} of {run.opened:,} found "
                "in the processes' sockets)"
            )
    print(
        "\neach figure per process, then its mean over the processes holding subscribers:\n"
        "  KB/sub       its RSS growth / the subscribers it holds\n"
        "  CPU µs/push  its CPU time during the publications, less its idle rate over that span,\n"
        "               / (subscribers it holds x publications)\n"
        "  ms/pub       that CPU time per publication\n"
        "  idle µs/sub/s  its CPU time to hold a subscriber (pings, the stream's periodic read)\n"
        "  RSS MB       the process before any subscriber (the largest)\n"
        "  x1           ratio to the 1-process run on the same bus (flat = 1.00)\n"
        "  load         the machine's 1-minute load average after the run"
    )


def fixed_and_marginal(runs: list[Run]) -> tuple[float, float]:
    """Least squares over every process of every run: CPU seconds per publication on a process
    = fixed (read the event, render its frames once) + marginal x subscribers it holds."""
    points = [
        (process.subscribers, process.push_cpu / len(run.record.answered))
        for run in runs
        for process in run.holding
    ]
    if len({held for held, _ in points}) >= 2:
        slope, intercept = statistics.linear_regression([p[0] for p in points], [p[1] for p in points])
        if slope > 0:
            return intercept, slope
    return 0.0, statistics.fmean(cpu / held for held, cpu in points)


def print_arithmetic(runs: list[Run], args: argparse.Namespace) -> None:
    kb = max(run.kb_per_subscriber for run in runs)
    base_mb = max(run.rss_before_mb for run in runs)
    fixed, marginal = fixed_and_marginal(runs)
    idle = max(run.idle_us_per_subscriber_second for run in runs)
    bus = "/".join(sorted({run.bus for run in runs}))
    print(f"\narithmetic ({bus}; the worst of the measured runs):")
    if kb <= 0 or marginal <= 0:
        print("  the runs were too small to measure memory or CPU per subscriber: run more subscribers")
        return
    by_memory = int((args.rss_budget_mb - base_mb) * 1024 / kb)
    # One publication's fan-out must be done within the push target, on the share of a core
    # the process may spend on it.
    by_cpu = int((PUSH_P99_TARGET_S * args.cpu_share - max(fixed, 0.0)) / marginal)
    budget = min(by_memory, by_cpu)
    print(f"  memory: {kb:.1f} KB per subscriber over {base_mb:.0f} MB per process before any subscriber")
    print(
        f"  CPU per publication on one process: {max(fixed, 0.0) * 1000:.1f} ms fixed "
        f"(fitted {fixed * 1000:.1f}) + {marginal * 1e6:.1f} µs per subscriber it holds"
    )
    print(
        f"  a process may hold: {by_memory:,} by memory (RSS budget {args.rss_budget_mb:,} MB), "
        f"{by_cpu:,} by CPU (a publication reaches all of them within {PUSH_P99_TARGET_S:g} s "
        f"on {args.cpu_share:.0%} of a core) -> {budget:,}"
    )
    for audience in AUDIENCES:
        processes = math.ceil(audience / budget)
        held = audience / processes
        fan_out = max(fixed, 0.0) + marginal * held
        machines = ", ".join(f"{math.ceil(processes / cores)} of {cores}" for cores in MACHINE_CORES)
        print(
            f"  {audience:>9,} subscribers: {processes} web processes of {held:,.0f} "
            f"({held * kb / 1024 + base_mb:,.0f} MB each; a publication's fan-out {fan_out * 1000:.0f} ms "
            f"of CPU on each; holding them {held * idle / 1e6:.2f} of a core each)"
        )
        print(
            f"  {'':>9}  one web process per core: machines of {'/'.join(map(str, MACHINE_CORES))} cores: "
            f"{machines}; the bus hands each publication to {processes} processes"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000, help="websocket subscribers in all")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1, 2, 4], help="web processes (--workers)"
    )
    parser.add_argument("--bus", choices=["redis", "postgres", "both"], default="redis", help="BROADCAST_URL")
    parser.add_argument("--publications", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2, help="seconds between publications")
    parser.add_argument(
        "--idle",
        type=float,
        default=20,
        help="seconds of idle CPU measured before publishing (one websocket ping interval: it then "
        "holds a round of pings, as the publications' span does)",
    )
    parser.add_argument("--settle", type=float, default=3, help="seconds to wait after connecting")
    parser.add_argument("--drain", type=float, default=3, help="seconds to wait after the last publication")
    parser.add_argument("--client-processes", type=int, default=4, help="processes running the subscribers")
    parser.add_argument("--rss-budget-mb", type=int, default=1024, help="memory a web process may use")
    parser.add_argument("--cpu-share", type=float, default=0.5, help="share of a core for one fan-out")
    parser.add_argument("--no-reference", action="store_true", help="skip the fan-out reference")
    deployment.add_arguments(parser, "--redis-url", "BROADCAST_URL for --bus redis")
    parser.add_argument("--keep", action="store_true", help="keep the servers' logs and files")
    args = parser.parse_args()
    harness.raise_open_file_limit(args.subscribers + 1024)  # inherited by the servers and the clients
    buses = ["redis", "postgres"] if args.bus == "both" else [args.bus]
    if args.database_url and len(buses) * len(args.processes) > 1:
        parser.error("--database-url serves one run: give one --bus and one --processes")
    workdir = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    print(
        f"{args.subscribers:,} subscribers to one incident's /live "
        f"({args.client_processes} client processes), "
        f"{args.publications} publications every {args.interval:g} s; machine: {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    runs: list[Run] = []
    size = 0
    try:
        for bus in buses:
            for processes in args.processes:
                (workdir / f"{bus}-{processes}").mkdir()
                run, size = console_run(processes, bus, workdir / f"{bus}-{processes}", args)
                runs.append(run)
                print(
                    f"  {processes} web processes on {bus}: {run.us_per_push:.1f} µs/push, "
                    f"{run.kb_per_subscriber:.1f} KB/sub, {run.missed} missed",
                    flush=True,
                )
        reference = None if args.no_reference else reference_run(size, args)
    finally:
        if args.keep:
            print(f"\nthe servers' logs and files are in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(runs, reference)
    for bus in buses:
        print_arithmetic([run for run in runs if run.bus == bus], args)
    errors = sum(
        run.missed + run.duplicates + run.failed_connects + run.closed + len(run.record.failed)
        for run in runs
    )
    print(f"\nerrors (missed, duplicates, failed or closed websockets, failed publications): {errors}")
    sys.exit(0 if errors == 0 else 1)


if __name__ == "__main__":
    main()
