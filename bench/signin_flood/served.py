"""Benchmark: publishing while one address floods the sign-in form, from outside the server
(issue 14, point 4: publish p99 < 100 ms during the flood).

Run: `make bench-signin-flood` (or `.venv/bin/python bench/signin_flood/served.py [--updates 300]`).

`console serve` on a fresh SQLite database, in its own process, with the outbox in a `console
worker` process as the Procfile deploys them (`--outbox-in-process`: in the web process, as
`console serve` alone runs it). This process publishes
`--updates` updates through the API, one at a time, and times each answer: first alone (the
reference), then while another process sends wrong sign-ins from one address, each as soon as
the last is answered, from before the first of those updates until after the last. Printed:
publish p50 and p99 for both and the ratio of the p99s, the flood's size, rate and answers, and
the rows it wrote (audit events, sign-in attempts).
`run.py` is the same comparison in one process (the flood's client then shares the server's
interpreter).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar
from multiprocessing.synchronize import Event
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common.console import TOKEN_FIELD, served_console  # noqa: E402
from bench.common.harness import percentile, post  # noqa: E402
from bench.signin_flood.run import rows  # noqa: E402
from console.db import Database  # noqa: E402


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def flood(base: str, stop: Event, report: multiprocessing.Queue[str]) -> None:
    """Wrong sign-ins from this process (one address: loopback) until `stop`; reports them."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)
    with opener.open(f"{base}/login", timeout=60) as page:
        found = TOKEN_FIELD.search(page.read().decode())
    assert found
    answers: Counter[int] = Counter()
    start = time.perf_counter()
    n = 0
    while not stop.is_set():
        n += 1
        form = {"email": f"guess{n % 200}@example.org", "password": "wrong", "csrf_token": found.group(1)}
        data = urllib.parse.urlencode(form).encode()
        try:
            with opener.open(f"{base}/login", data=data, timeout=60) as answer:
                answers[answer.status] += 1
        except urllib.error.HTTPError as refused:
            answers[refused.code] += 1
    report.put(json.dumps({"count": n, "answers": answers, "seconds": time.perf_counter() - start}))


def publish(base: str, token: str, slug: str, count: int) -> list[float]:
    times = []
    for n in range(count):
        start = time.perf_counter()
        post(f"{base}/api/v1/incidents/{slug}/updates", token, {"body": f"Road closed at Main St ({n})."})
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument(
        "--outbox-in-process",
        action="store_true",
        help="deliver from the web process (`console serve` alone) instead of a `console worker`",
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as scratch,
        served_console(Path(scratch), separate_worker=not args.outbox_in_process) as console,
    ):
        base = console.base
        slug = console.new_incident("Flood")
        publish(base, console.token, slug, 5)  # warm: templates, connections
        reference = publish(base, console.token, slug, args.updates)
        db = Database(console.database_url)
        before = rows(db)
        report: multiprocessing.Queue[str] = multiprocessing.Queue()
        stop = multiprocessing.Event()
        flooder = multiprocessing.Process(target=flood, args=(base, stop, report))
        flooder.start()
        time.sleep(1)  # the flood is under way before the first update
        during = publish(base, console.token, slug, args.updates)
        stop.set()
        flooded = json.loads(report.get(timeout=600))
        flooder.join()
        after = rows(db)
        db.dispose()
    for name, times in (("reference (no flood)", reference), ("during the flood", during)):
        p50, p99 = statistics.median(times), percentile(times, 99)
        print(f"{name:22} publish p50 {p50:6.1f} ms  p99 {p99:6.1f} ms")
    ratio = percentile(during, 99) / percentile(reference, 99)
    print(f"ratio p99 during/reference: {ratio:.2f}  (target: p99 during the flood < 100 ms)")
    count, seconds = flooded["count"], flooded["seconds"]
    print(
        f"flood: {count} sign-ins in {seconds:.1f} s ({count / seconds:.0f}/s), answers {flooded['answers']}"
    )
    print(
        f"rows written by the flood: {after[0] - before[0]} audit events, "
        f"{after[1] - before[1]} sign-in attempts (for {count} refused sign-ins)"
    )


if __name__ == "__main__":
    main()
