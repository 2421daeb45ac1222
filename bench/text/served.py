"""Benchmark: the served site while a PIO previews the worst-shaped bodies (issue 14.2).

Run: `make bench-text-served` (or `.venv/bin/python bench/text/served.py [--rounds N]`).

`console serve` on a fresh SQLite database, in its own process. A signed-in PIO previews, one
after another, each adversarial 5,000-character body of tests/domain/test_post_length.py,
`--rounds` times; meanwhile this process asks `/healthz` and `/` in turn, one request at a time,
and times each answer. The reference, in the same run and the same way: the same number of
previews of ordinary 5,000-character prose. Printed: p50, p99 and max of each path under both,
and the ratio of the p99s (target: every answer under 100 ms while the worst case is previewed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common.console import EMAIL, PASSWORD, TOKEN_FIELD, served_console  # noqa: E402
from bench.common.harness import percentile  # noqa: E402
from tests.domain.test_post_length import ADVERSARIAL  # noqa: E402

PROSE = (
    "Officers are on scene at Main St and 4th Ave. Residents should avoid the area and follow "
    "directions from officers; more at https://example.org/updates. "
)
ORDINARY = (PROSE * (5000 // len(PROSE) + 1))[:5000]
PATHS = ("/healthz", "/")
PREVIEW = "preview"


def form(opener: urllib.request.OpenerDirector, url: str, fields: dict[str, str] | None = None) -> str:
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    with opener.open(url, data=data, timeout=120) as answer:
        text: str = answer.read().decode()
        return text


def signed_in(base: str, slug: str) -> tuple[urllib.request.OpenerDirector, str]:
    """An opener holding a PIO's session, and the CSRF token of the incident's screen."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    token = TOKEN_FIELD.search(form(opener, f"{base}/login"))
    assert token is not None
    form(opener, f"{base}/login", {"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
    screen = TOKEN_FIELD.search(form(opener, f"{base}/console/incidents/{slug}"))
    assert screen is not None, "not signed in"
    return opener, screen.group(1)


def latencies_while_previewing(base: str, slug: str, bodies: list[str]) -> dict[str, list[float]]:
    """Milliseconds of each answer to PATHS, asked in turn while `bodies` are previewed, and of
    each preview (PREVIEW: the served route, rendered fragment included)."""
    opener, csrf = signed_in(base, slug)
    preview = f"{base}/console/incidents/{slug}/preview"
    seen: dict[str, list[float]] = {path: [] for path in (*PATHS, PREVIEW)}

    def preview_all() -> None:
        for body in bodies:
            start = time.perf_counter()
            form(opener, preview, {"body": body, "headline": "", "csrf_token": csrf})
            seen[PREVIEW].append((time.perf_counter() - start) * 1000)

    previewing = threading.Thread(target=preview_all)
    previewing.start()
    while previewing.is_alive():
        for path in PATHS:
            start = time.perf_counter()
            with urllib.request.urlopen(base + path, timeout=120) as answer:
                answer.read()
            seen[path].append((time.perf_counter() - start) * 1000)
    previewing.join()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="times each adversarial body is previewed")
    args = parser.parse_args()
    worst = list(ADVERSARIAL.values()) * args.rounds
    with tempfile.TemporaryDirectory() as scratch, served_console(Path(scratch)) as console:
        base = console.base
        slug = console.new_incident("Gas leak")
        for path in PATHS:  # the first answers compile templates: not what is measured
            urllib.request.urlopen(base + path).read()
        results = {
            "ordinary prose (reference)": latencies_while_previewing(base, slug, [ORDINARY] * len(worst)),
            "adversarial bodies": latencies_while_previewing(base, slug, worst),
        }
    print(f"{len(worst)} previews of 5,000-character bodies each; answers in ms")
    print(f"{'while previewing':28} {'path':9} {'answers':>7} {'p50':>7} {'p99':>7} {'max':>7}")
    for name, seen in results.items():
        for path, times in seen.items():
            print(
                f"{name:28} {path:9} {len(times):>7} {percentile(times, 50):>7.1f} "
                f"{percentile(times, 99):>7.1f} {max(times):>7.1f}"
            )
    reference, worst_case = results.values()
    for path in (*PATHS, PREVIEW):
        ratio = percentile(worst_case[path], 99) / percentile(reference[path], 99)
        print(f"p99 ratio adversarial / reference, {path}: {ratio:.2f}")
    slowest = max(max(worst_case[path]) for path in PATHS)
    print(f"slowest answer while the worst case was previewed: {slowest:.1f} ms  (target < 100 ms)")
    previews = worst_case[PREVIEW]
    print(f"slowest preview answer: {max(previews):.1f} ms (p50 {percentile(previews, 50):.1f})")


if __name__ == "__main__":
    main()
