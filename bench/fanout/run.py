"""Benchmark: pushing one update to N residents' websockets, against a minimal reference.

    .venv/bin/python bench/fanout/run.py [--subscribers 10000] [--publications 30] [--pairs 3] [--verbose]

1. Starts `console serve` on a fresh SQLite database (default settings, `memory://`
   broadcast, dispatcher in process), with one incident.
2. Opens N light websocket subscribers to `/live?incident=<slug>`, spread over several
   client processes (`bench/common/subscribers.py`).
3. Publishes R updates through the JSON API, one every --interval seconds, and records
   when each subscriber received each one: latency = receipt - moment the API call began.
   Publications alternate between the console and the reference (next point), both
   connected all along, so that whatever else the machine does weighs on both alike.
4. Prints p50/p99/max latency, missed messages (expected receipts that never came),
   duplicates, and server memory per subscriber (RSS growth / subscribers).
5. Does the same against `reference.py` (websockets' own server calling
   `websockets.broadcast()` directly from its HTTP publish handler, frames of the same
   size as the console's), and prints the ratio of the two p99s.
6. Repeats 2 to 5 --pairs times over the same two servers (3 by default) and prints the
   median of the pairs' p99 ratios.

Targets (issue 20): 0 missed, 0 duplicates; median p99 ratio <= 1.2 at 10,000 subscribers;
<= 20 KB per subscriber.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

P99_RATIO_TARGET = 1.2
KB_PER_SUBSCRIBER_TARGET = 20.0

from bench.common.harness import (  # noqa: E402
    cpu_seconds,
    free_port,
    percentile,
    post,
    raise_open_file_limit,
    rss_bytes,
    start_subscribers,
    stop_subscribers,
    wait_for_http,
)
from console.db import Database  # noqa: E402
from console.domain import accounts, stream  # noqa: E402
from console.domain.actors import OPERATOR  # noqa: E402
from console.keyset import create_key_file  # noqa: E402
from console.migrate import upgrade  # noqa: E402

BODY = (
    "Elm St is closed between 3rd and 5th Ave while crews repair a water main. "
    "Expect delays on Route 9; use Main St instead. Marker fanout-{i}-end. "
    "Residents on the 400 block may see low water pressure until the evening."
)


@dataclass
class Target:
    """A server under test, with its own subscribers; publications alternate between targets."""

    name: str
    pid: int
    ws_url: str
    head: Callable[[], int]  # the newest event id now: what a subscriber says it has seen
    publish: Callable[[int], None]
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    subscribers: int = 0
    failed: int = 0
    rss_before: int = 0
    rss_after: int = 0
    sent: dict[int, float] = field(default_factory=dict)
    cpu: list[float] = field(default_factory=list)  # seconds used from each publication to the next


@dataclass
class Result:
    name: str
    subscribers: int
    failed: int
    latencies_ms: list[float]
    expected: int
    received: int
    duplicates: int
    closed: int
    rss_before: int
    rss_after: int
    per_publication: dict[int, list[float]] = field(default_factory=dict)
    cpu_per_publication_ms: float = 0.0

    @property
    def missed(self) -> int:
        return self.expected - self.received

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    @property
    def kb_per_subscriber(self) -> float:
        return (self.rss_after - self.rss_before) / 1024 / max(self.subscribers, 1)


def run(targets: list[Target], args: argparse.Namespace, first: int) -> list[Result]:
    """One pair: subscribers connect to both servers, `args.publications` alternate from
    publication number `first`, the subscribers leave."""
    for target in targets:
        target.sent, target.cpu = {}, []
        target.rss_before = rss_bytes(target.pid)
        target.processes, target.subscribers, target.failed = start_subscribers(
            target.ws_url, args.subscribers, args.workers, target.head()
        )
    time.sleep(args.settle)
    for target in targets:
        target.rss_after = rss_bytes(target.pid)
    # Alternate (and swap the order every round) so that whatever else this machine is doing
    # weighs on both servers alike.
    for index in range(first, first + args.publications):
        for target in targets if index % 2 == 0 else reversed(targets):
            cpu_before = cpu_seconds(target.pid)
            started = time.monotonic()
            target.publish(index)
            target.sent[index] = started
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
            target.cpu.append(cpu_seconds(target.pid) - cpu_before)
    time.sleep(args.drain)
    results = []
    for target in targets:
        receipts, duplicates, closed = stop_subscribers(target.processes)
        latencies = [
            (moment - target.sent[index]) * 1000
            for index, moments in receipts.items()
            if index in target.sent
            for moment in moments
        ]
        results.append(
            Result(
                name=target.name,
                subscribers=target.subscribers,
                failed=target.failed,
                latencies_ms=latencies,
                expected=target.subscribers * args.publications,
                received=len(latencies),
                duplicates=duplicates,
                closed=closed,
                rss_before=target.rss_before,
                rss_after=target.rss_after,
                cpu_per_publication_ms=statistics.median(target.cpu) * 1000,
                per_publication={
                    index: sorted((moment - target.sent[index]) * 1000 for moment in moments)
                    for index, moments in receipts.items()
                    if index in target.sent
                },
            )
        )
    return results


def frame_size(ws_url: str, hello_id: int, publish: Callable[[], None]) -> int:
    """Length of the frame the console pushes for one update, so the reference sends the same."""
    from websockets.sync.client import connect

    with connect(ws_url, compression=None) as connection:
        connection.send(json.dumps({"last_event_id": hello_id}))
        publish()
        frame = connection.recv(timeout=30)
        assert isinstance(frame, str) and "fanout-warmup-end" in frame, frame
        return len(frame.encode())


@contextmanager
def console_server(workdir: Path) -> Iterator[tuple[Target, int]]:
    """`console serve` with an incident; yields the target and the size of one pushed frame."""
    database_url = f"sqlite:///{workdir}/console.db"
    db = Database(database_url)
    upgrade(db)
    with db.write() as session:
        accounts.create_user(
            session, OPERATOR, email="pio@bench", display_name="Bench PIO", role="pio", password="x" * 16
        )
    with db.write() as session:
        token = accounts.create_token(session, OPERATOR, email="pio@bench").secret
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ARCHIVE_DIR": str(workdir / "archive"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SIGNING_KEY_FILE": str(workdir / "signing-key.pem"),
    }
    create_key_file(workdir / "signing-key.pem")
    with (workdir / "console.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/healthz")
            incident = post(
                f"{base}/api/v1/incidents", token, {"title": "Water main break", "category": "Infra"}
            )
            slug = incident["slug"]
            ws_url = f"ws://127.0.0.1:{port}/live?incident={slug}"

            def publish(index: int | str) -> None:
                post(f"{base}/api/v1/incidents/{slug}/updates", token, {"body": BODY.format(i=index)})

            def head() -> int:
                with db.read() as session:
                    return stream.head(session)

            size = frame_size(ws_url, head(), lambda: publish("warmup"))
            urllib.request.urlopen(f"{base}/incidents/{slug}").read()
            yield Target("console /live", server.pid, ws_url, head, publish), size
        finally:
            server.terminate()
            server.wait(60)
            db.dispose()


@contextmanager
def reference_server(size: int) -> Iterator[Target]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "reference.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        base = f"http://127.0.0.1:{port}"

        def publish(index: int) -> None:
            urllib.request.urlopen(f"{base}/publish?i={index}&size={size}", timeout=30).read()

        yield Target("reference broadcast()", server.pid, f"ws://127.0.0.1:{port}/", lambda: 0, publish)
    finally:
        server.terminate()
        server.wait(60)


def report(pair: int, results: list[Result], args: argparse.Namespace, size: int) -> float:
    """One pair's table; returns its p99 ratio, console / reference."""
    print(
        f"\npair {pair + 1} of {args.pairs}: fan-out of {args.publications} publications to "
        f"{args.subscribers:,} subscribers ({args.workers} client processes, {os.cpu_count()} CPUs), "
        f"frame {size} bytes\n"
    )
    print(
        f"{'server':<24}{'subscribers':>12}{'min ms':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'missed':>8}{'dup':>5}{'KB/sub':>8}{'CPU ms':>8}"
    )
    for r in results:
        print(
            f"{r.name:<24}{r.subscribers:>12,}{r.percentile(0):>9.1f}{r.percentile(50):>9.1f}{r.percentile(99):>9.1f}"
            f"{max(r.latencies_ms, default=float('nan')):>9.1f}{r.missed:>8}{r.duplicates:>5}"
            f"{r.kb_per_subscriber:>8.1f}{r.cpu_per_publication_ms:>8.0f}"
        )
        if r.failed or r.closed:
            print(f"{'':<24}({r.failed} connections failed, {r.closed} closed by the server)")
    if args.verbose:
        print("\nper publication: first receipt / median / last receipt, ms")
        for index in sorted(results[0].per_publication):
            cells = []
            for r in results:
                times = r.per_publication.get(index, [])
                median = times[len(times) // 2] if times else float("nan")
                cells.append(f"{r.name}: {times[0]:7.1f} {median:7.1f} {times[-1]:7.1f}" if times else "-")
            print(f"{index:>3}  " + "   ".join(cells))
    console, reference = results
    ratio = console.percentile(99) / reference.percentile(99)
    print(
        f"p99 ratio {ratio:.2f}, p50 ratio {console.percentile(50) / reference.percentile(50):.2f}, "
        f"mean latency console {statistics.fmean(console.latencies_ms):.1f} ms, "
        f"reference {statistics.fmean(reference.latencies_ms):.1f} ms"
    )
    return ratio


def summary(pairs: list[list[Result]], ratios: list[float]) -> None:
    consoles = [results[0] for results in pairs]
    references = [results[1] for results in pairs]
    ratio = statistics.median(ratios)
    missed = sum(r.missed for r in consoles)
    duplicates = sum(r.duplicates for r in consoles)
    memory = max(r.kb_per_subscriber for r in consoles)
    reference_memory = max(r.kb_per_subscriber for r in references)
    print(f"\nover {len(pairs)} back-to-back pairs:")
    print(
        f"p99 ratio console / reference, median: {ratio:.2f} "
        f"(each pair: {', '.join(f'{r:.2f}' for r in ratios)})  "
        f"target <= {P99_RATIO_TARGET}: {'PASS' if ratio <= P99_RATIO_TARGET else 'FAIL'}"
    )
    exact = missed == duplicates == 0
    print(f"missed: {missed}, duplicates: {duplicates}  target 0: {'PASS' if exact else 'FAIL'}")
    print(
        f"server memory per subscriber, largest: {memory:.1f} KB (reference {reference_memory:.1f} KB, "
        f"ratio {memory / reference_memory:.2f})  target <= {KB_PER_SUBSCRIBER_TARGET} KB: "
        f"{'PASS' if memory <= KB_PER_SUBSCRIBER_TARGET else 'FAIL'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--publications", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between publications")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after connecting")
    parser.add_argument("--drain", type=float, default=5.0, help="seconds to wait after the last publication")
    parser.add_argument("--pairs", type=int, default=3, help="back-to-back runs of both servers")
    parser.add_argument("--verbose", action="store_true", help="also print each publication's figures")
    parser.add_argument("--keep", action="store_true", help="keep the console's database and log")
    args = parser.parse_args()
    # Raised here, inherited by the server and the client processes.
    raise_open_file_limit(args.subscribers + 1024)
    workdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    try:
        pairs: list[list[Result]] = []
        ratios = []
        with console_server(workdir) as (console, size), reference_server(size) as reference:
            for pair in range(args.pairs):
                pairs.append(run([console, reference], args, first=pair * args.publications))
                ratios.append(report(pair, pairs[-1], args, size))
        summary(pairs, ratios)
    finally:
        if args.keep:
            print(f"\nthe console's database and log are in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
