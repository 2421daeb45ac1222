"""Benchmark: one update sent to N confirmed subscribers by email and M by Web Push,
each against a bare loop of the library a hand-written script would use, in the same run.

    .venv/bin/python bench/subscribers/run.py [--channel email|push|both]
        [--subscribers 100000] [--push-subscribers 20000] [--batch-size 200]
        [--push-concurrency 4]

Email (`--channel email`, or the first half of `both`):
1. Starts an SMTP sink (aiosmtpd, `sink.py`) in its own process on 127.0.0.1.
2. Console: a fresh SQLite database with N confirmed email subscribers of one incident,
   `console worker` with CHANNELS=subscribers and SMTP_URL at the sink; publishes one update
   to that incident and waits until its fan-out job is done. While it runs, publishes an
   update to another incident (no subscribers) every second and times each publication.
3. Reference: one smtplib connection sending the same message (the console's own bytes,
   only `To` changed) to every subscriber in a loop: what a hand-written script would reach.

Web Push (`--channel push`, or the second half of `both`):
1. Starts a push service (`push_service.py`) in its own process on 127.0.0.1: it verifies
   each request's VAPID JWT and decrypts its aes128gcm body with the browser's keys; each
   subscriber has its own browser key pair and auth secret, derived from a seed and its id.
2. Console: a fresh SQLite database with M confirmed push subscribers (endpoints
   `http://127.0.0.1:PORT/push/{i}`, their keys as a browser gives them), `console worker`
   with CHANNELS=subscribers, a VAPID key made as `console push keys` makes it,
   PUSH_ALLOW_PRIVATE=true and PUSH_CONCURRENCY; publishes one update and waits for the push
   fan-out job, publishing to another incident every second meanwhile, as above.
3. Reference: `pywebpush.webpush` with the console's payload bytes, the same VAPID key and
   claims and each subscriber's keys, from a thread pool of PUSH_CONCURRENCY threads, each
   with its own `requests` session (as the console's lanes have).

Each half prints publish -> last delivery time, messages/s of console and reference and their
ratio (target >= 0.8), publish p99 during the fan-out (target < 100 ms), the worker's RSS
growth (< 200 MB), and what the sink or push service counted.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from pywebpush import webpush  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bench.common.harness import free_port, percentile, rss_bytes  # noqa: E402
from bench.subscribers.push_service import subscription_keys  # noqa: E402
from console.alert_models import AlertChannel, FanoutJob, FanoutState, Subscriber, SubscriberStatus  # noqa: E402
from console.alerts.content import AlertSource  # noqa: E402
from console.alerts.email import render_alert  # noqa: E402
from console.alerts.web_push import (  # noqa: E402
    PUSH_TTL_SECONDS,
    application_server_key,
    new_private_key,
    payload,
    vapid_key,
)
from console.channels.registry import routing  # noqa: E402
from console.db import Database  # noqa: E402
from console.domain.actors import OPERATOR  # noqa: E402
from console.domain.incidents import IncidentDraft, create_incident  # noqa: E402
from console.domain.updates import Draft, publish_update  # noqa: E402
from console.keyset import KeyFile, create_key_file  # noqa: E402
from console.languages import Languages  # noqa: E402
from console.mail import MailTemplate  # noqa: E402
from console.migrate import upgrade  # noqa: E402
from console.models import utcnow  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.templating import make_templates  # noqa: E402

MAIL_FROM = "alerts@bench.example"
VAPID_SUBJECT = "mailto:alerts@bench.example"
PUSH_SEED = "bench-subscribers"


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "sink.py"), str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def count(self) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class PushService:
    """`push_service.py` in its own process: counts received, decrypted and failed pushes."""

    def __init__(self, server_key: str) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "push_service.py"),
                str(self.port),
                PUSH_SEED,
                server_key,
                VAPID_SUBJECT,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"

    def counts(self) -> tuple[int, int, int]:
        """(received, decrypted, failed) so far."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        received, decrypted, failed = (int(n) for n in self.process.stdout.readline().split())
        return received, decrypted, failed

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def seed_email(db: Database, count: int, incident_id: int) -> None:
    now = utcnow()
    with db.write() as session:
        for start in range(0, count, 10_000):
            session.execute(
                insert(Subscriber),
                [
                    {
                        "channel": AlertChannel.EMAIL,
                        "address": f"resident{n}@bench.example",
                        "address_hash": f"{n:064x}",
                        "incident_id": incident_id,
                        "lang": "en",
                        "status": SubscriberStatus.CONFIRMED,
                        "created_at": now,
                        "confirmed_at": now,
                    }
                    for n in range(start, min(start + 10_000, count))
                ],
            )


def push_endpoint(origin: str, n: int) -> str:
    return f"{origin}/push/{n}"


def seed_push(db: Database, count: int, incident_id: int, origin: str) -> None:
    """`count` confirmed push subscribers stored as `subscribe_push` stores them: the endpoint
    as address, the browser's keys (as PushSubscription.toJSON() gives them) as push_keys."""
    now = utcnow()
    with db.write() as session:
        for start in range(0, count, 10_000):
            session.execute(
                insert(Subscriber),
                [
                    {
                        "channel": AlertChannel.PUSH,
                        "address": push_endpoint(origin, n),
                        "address_hash": f"{n:064x}",
                        "push_keys": json.dumps(subscription_keys(PUSH_SEED, n)),
                        "incident_id": incident_id,
                        "lang": "en",
                        "status": SubscriberStatus.CONFIRMED,
                        "created_at": now,
                        "confirmed_at": now,
                    }
                    for n in range(start, min(start + 10_000, count))
                ],
            )


def reference_email(settings: Settings, db: Database, event_id: int, port: int, count: int) -> float:
    """Seconds for a bare smtplib loop to send the console's message to `count` addresses."""
    with db.read() as session:
        content = AlertSource(session, event_id, Languages(settings.languages), settings.public_url).content(
            "en"
        )
    template = MailTemplate(render_alert(make_templates(settings).env, content), mail_from=MAIL_FROM)
    data = template.stamp(
        to="resident0@bench.example",
        unsubscribe_url=f"{settings.public_url}/unsubscribe?token=x",
        message_id="<m@b>",
    ).data
    started = time.perf_counter()
    connection = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost")
    for n in range(count):
        address = f"resident{n}@bench.example"
        connection.sendmail(MAIL_FROM, [address], data.replace(b"resident0@bench.example", address.encode()))
    connection.quit()
    return time.perf_counter() - started


def reference_push(
    settings: Settings, db: Database, event_id: int, origin: str, count: int
) -> tuple[float, int]:
    """Seconds for `pywebpush.webpush` from PUSH_CONCURRENCY threads (one requests session
    each) to push the console's payload to `count` subscribers, and how many it failed."""
    with db.read() as session:
        content = AlertSource(session, event_id, Languages(settings.languages), settings.public_url).content(
            "en"
        )
    data = payload(content)
    assert settings.vapid_private_key is not None
    key = vapid_key(settings.vapid_private_key._value)
    keys = [subscription_keys(PUSH_SEED, n) for n in range(count)]  # what the database holds
    local = threading.local()

    def push(n: int) -> bool:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        try:
            webpush(
                {"endpoint": push_endpoint(origin, n), "keys": keys[n]},
                data,
                vapid_private_key=key,
                vapid_claims={"sub": settings.vapid_subject, "aud": origin},
                ttl=PUSH_TTL_SECONDS,
                timeout=settings.push_timeout_seconds,
                requests_session=session,
            )
        except Exception:  # noqa: BLE001 (counted, as the console counts its failures)
            return False
        return True

    started = time.perf_counter()
    with ThreadPoolExecutor(settings.push_concurrency) as pool:
        failed = sum(not ok for ok in pool.map(push, range(count), chunksize=64))
    return time.perf_counter() - started, failed


@dataclass
class ConsoleRun:
    settings: Settings
    db: Database
    event_id: int
    seconds: float
    job: FanoutJob
    probes: list[float]
    rss_growth: int


def job_state(db: Database, event_id: int, channel: AlertChannel) -> FanoutJob | None:
    with db.read() as session:
        return session.scalar(
            select(FanoutJob).where(FanoutJob.event_id == event_id, FanoutJob.channel == channel)
        )


def run_console(
    args: argparse.Namespace,
    channel: AlertChannel,
    extra_env: dict[str, str],
    seed: Callable[[Database, int], None],
) -> ConsoleRun:
    """A fresh database seeded by `seed(db, incident_id)`, `console worker` with the subscribers
    channel; one update published and timed until the `channel` fan-out job is done, another
    incident published to every probe interval meanwhile."""
    work = Path(tempfile.mkdtemp(prefix="bench-subscribers-"))
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite:///{work / 'console.db'}",
        "SIGNING_KEY_FILE": str(work / "signing-key.pem"),
        "SECRET_KEY": "bench",
        "CHANNELS": "subscribers",
        "MAIL_FROM": MAIL_FROM,
        "SUBSCRIBER_BATCH_SIZE": str(args.batch_size),
        "OUTBOX_POLL_SECONDS": "0.1",
        "ARCHIVE_DIR": str(work / "archive"),
        "FEEDS_DIR": str(work / "feeds"),
        **extra_env,
    }
    settings = Settings.from_environ(env)
    create_key_file(settings.signing_key_file)
    db = Database(settings.database_url, signer=KeyFile(settings.signing_key_file))
    upgrade(db)
    routes = routing(settings)
    with db.write() as session:
        flood, _ = create_incident(session, OPERATOR, IncidentDraft(title="Flood"), routing=routes)
        quiet, _ = create_incident(session, OPERATOR, IncidentDraft(title="Road works"), routing=routes)
        flood_slug, quiet_slug, flood_id = flood.slug, quiet.slug, flood.id
    seed(db, flood_id)

    # The worker imports this checkout's package (cwd=ROOT), not an installed one.
    worker = subprocess.Popen(
        [sys.executable, "-m", "console", "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        time.sleep(2)
        rss_before = rss_bytes(worker.pid)
        peak = rss_before
        published_at = time.perf_counter()
        with db.write() as session:
            event_id = publish_update(
                session,
                OPERATOR,
                flood_slug,
                Draft(body="Move to higher ground now.", preliminary=True),
                routing=routes,
            ).event.event_id
        probes: list[float] = []
        next_probe = time.perf_counter()
        deadline = time.perf_counter() + args.timeout
        while (job := job_state(db, event_id, channel)) is None or job.state is not FanoutState.DONE:
            assert time.perf_counter() < deadline, "the fan-out did not finish in time"
            assert worker.poll() is None, f"the worker exited ({worker.returncode})"
            peak = max(peak, rss_bytes(worker.pid))
            if args.probe_interval and time.perf_counter() >= next_probe:
                started = time.perf_counter()
                with db.write() as session:
                    publish_update(session, OPERATOR, quiet_slug, Draft(body="Lane closed."), routing=routes)
                probes.append(time.perf_counter() - started)
                next_probe = started + args.probe_interval
            time.sleep(0.02)
        seconds = time.perf_counter() - published_at
    finally:
        worker.terminate()
        worker.wait(30)
    return ConsoleRun(settings, db, event_id, seconds, job, probes, peak - rss_before)


def print_common(run: ConsoleRun, console_rate: float, reference_rate: float) -> None:
    print(f"ratio console/reference: {console_rate / reference_rate:.2f} (target >= 0.8)")
    if run.probes:
        print(
            f"publish during the fan-out: p50 {percentile(run.probes, 50) * 1000:.0f} ms, "
            f"p99 {percentile(run.probes, 99) * 1000:.0f} ms over {len(run.probes)} publications "
            "(target < 100 ms)"
        )
    print(f"worker RSS growth: {run.rss_growth / 2**20:.0f} MB (target < 200 MB)", flush=True)


def bench_email(args: argparse.Namespace) -> None:
    count = args.subscribers
    sink = Sink()
    try:
        print(f"== email: {count:,} confirmed email subscribers, batch {args.batch_size}", flush=True)
        run = run_console(
            args,
            AlertChannel.EMAIL,
            {"SMTP_URL": f"smtp://127.0.0.1:{sink.port}"},
            lambda db, incident_id: seed_email(db, count, incident_id),
        )
        received = sink.count()
        reference_seconds = reference_email(run.settings, run.db, run.event_id, sink.port, count)
    finally:
        sink.stop()
    job = run.job
    console_rate = job.sent / run.seconds
    reference_rate = count / reference_seconds
    print(
        f"console: publish -> last delivery {run.seconds:.1f} s, {console_rate:,.0f} messages/s "
        f"({job.sent:,} sent, {job.failed} failed, {job.unknown} unknown; the sink counted {received:,})"
    )
    print(f"reference (bare smtplib loop): {reference_seconds:.1f} s, {reference_rate:,.0f} messages/s")
    print_common(run, console_rate, reference_rate)


def bench_push(args: argparse.Namespace) -> None:
    count = args.push_subscribers
    private_key = new_private_key()  # as `console push keys` makes it
    service = PushService(application_server_key(private_key))
    try:
        print(
            f"== push: {count:,} confirmed Web Push subscribers, batch {args.batch_size}, "
            f"PUSH_CONCURRENCY {args.push_concurrency}",
            flush=True,
        )
        run = run_console(
            args,
            AlertChannel.PUSH,
            {
                "VAPID_PRIVATE_KEY": private_key,
                "VAPID_SUBJECT": VAPID_SUBJECT,
                "PUSH_ALLOW_PRIVATE": "true",
                "PUSH_CONCURRENCY": str(args.push_concurrency),
            },
            lambda db, incident_id: seed_push(db, count, incident_id, service.origin),
        )
        console_counts = service.counts()
        reference_seconds, reference_failed = reference_push(
            run.settings, run.db, run.event_id, service.origin, count
        )
        total_counts = service.counts()
    finally:
        service.stop()
    job = run.job
    console_rate = job.sent / run.seconds
    reference_rate = (count - reference_failed) / reference_seconds
    received, decrypted, failed = console_counts
    print(
        f"console: publish -> last delivery {run.seconds:.1f} s, {console_rate:,.0f} pushes/s "
        f"({job.sent:,} sent, {job.failed} failed, {job.unknown} unknown; the push service received "
        f"{received:,}, decrypted {decrypted:,}, failed {failed:,})"
    )
    ref_received, ref_decrypted, ref_failed = (
        t - c for t, c in zip(total_counts, console_counts, strict=True)
    )
    print(
        f"reference (bare pywebpush.webpush loop, a pool of {args.push_concurrency} threads = "
        f"PUSH_CONCURRENCY, a requests session each): {reference_seconds:.1f} s, "
        f"{reference_rate:,.0f} pushes/s "
        f"({reference_failed} failed; the push service received {ref_received:,}, decrypted "
        f"{ref_decrypted:,}, failed {ref_failed:,})"
    )
    print_common(run, console_rate, reference_rate)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channel", choices=("email", "push", "both"), default="both")
    parser.add_argument("--subscribers", type=int, default=100_000, help="email subscribers")
    parser.add_argument("--push-subscribers", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument(
        "--push-concurrency", type=int, default=4, help="PUSH_CONCURRENCY (default 4, the setting's)"
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new SQLite file)")
    parser.add_argument("--probe-interval", type=float, default=1.0, help="0: no publications meanwhile")
    args = parser.parse_args()
    if args.channel == "both" and args.database_url:
        parser.error("--database-url takes one channel at a time (each half needs an empty database)")
    if args.channel in ("email", "both"):
        bench_email(args)
    if args.channel in ("push", "both"):
        bench_push(args)


if __name__ == "__main__":
    main()
