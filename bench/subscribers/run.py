"""Benchmark: one update emailed to N confirmed subscribers, against a bare smtplib loop.

    .venv/bin/python bench/subscribers/run.py [--subscribers 100000] [--batch-size 200]

1. Starts an SMTP sink (aiosmtpd, `sink.py`) in its own process on 127.0.0.1.
2. Reference: one smtplib connection sending the same message (the console's own bytes,
   only `To` changed) to every subscriber in a loop: what a hand-written script would reach.
3. Console: a fresh SQLite database with N confirmed email subscribers of one incident,
   `console worker` with CHANNELS=subscribers and SMTP_URL at the sink; publishes one update
   to that incident and waits until its fan-out job is done. While it runs, publishes an
   update to another incident (no subscribers) every second and times each publication.
4. Prints publish → last delivery time, messages/s of both and their ratio (target >= 0.8),
   publish p99 during the fan-out (target < 100 ms), the worker's RSS growth (< 200 MB), and
   what the sink counted.

Web Push is not built yet, so its half of the issue's benchmark is not here.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.common.harness import free_port, percentile, rss_bytes  # noqa: E402
from console.alert_models import AlertChannel, FanoutJob, FanoutState, Subscriber, SubscriberStatus  # noqa: E402
from console.alerts.content import AlertSource  # noqa: E402
from console.alerts.email import MailTemplate, render_alert  # noqa: E402
from console.channels.registry import routing  # noqa: E402
from console.db import Database  # noqa: E402
from console.domain.actors import OPERATOR  # noqa: E402
from console.domain.incidents import IncidentDraft, create_incident  # noqa: E402
from console.domain.updates import Draft, publish_update  # noqa: E402
from console.keyset import KeyFile, create_key_file  # noqa: E402
from console.languages import Languages  # noqa: E402
from console.migrate import upgrade  # noqa: E402
from console.models import utcnow  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.templating import make_templates  # noqa: E402

MAIL_FROM = "alerts@bench.example"


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


def seed(db: Database, count: int, incident_id: int) -> None:
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


def reference(settings: Settings, db: Database, event_id: int, port: int, count: int) -> float:
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


def job_state(db: Database, event_id: int) -> FanoutJob | None:
    with db.read() as session:
        return session.scalar(
            select(FanoutJob).where(FanoutJob.event_id == event_id, FanoutJob.channel == AlertChannel.EMAIL)
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new SQLite file)")
    parser.add_argument("--probe-interval", type=float, default=1.0, help="0: no publications meanwhile")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-subscribers-"))
    sink = Sink()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url or f"sqlite:///{work / 'console.db'}",
        "SIGNING_KEY_FILE": str(work / "signing-key.pem"),
        "SECRET_KEY": "bench",
        "CHANNELS": "subscribers",
        "SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        "MAIL_FROM": MAIL_FROM,
        "SUBSCRIBER_BATCH_SIZE": str(args.batch_size),
        "OUTBOX_POLL_SECONDS": "0.1",
        "ARCHIVE_DIR": str(work / "archive"),
        "FEEDS_DIR": str(work / "feeds"),
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
    seed(db, args.subscribers, flood_id)
    print(f"{args.subscribers:,} confirmed email subscribers, batch {args.batch_size}", flush=True)

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
        while (job := job_state(db, event_id)) is None or job.state is not FanoutState.DONE:
            assert time.perf_counter() < deadline, "the fan-out did not finish in time"
            peak = max(peak, rss_bytes(worker.pid))
            if args.probe_interval and time.perf_counter() >= next_probe:
                started = time.perf_counter()
                with db.write() as session:
                    publish_update(session, OPERATOR, quiet_slug, Draft(body="Lane closed."), routing=routes)
                probes.append(time.perf_counter() - started)
                next_probe = started + args.probe_interval
            time.sleep(0.02)
        console_seconds = time.perf_counter() - published_at
    finally:
        worker.terminate()
        worker.wait(30)
    received = sink.count()
    reference_seconds = reference(settings, db, event_id, sink.port, args.subscribers)
    sink.stop()
    console_rate = job.sent / console_seconds
    reference_rate = args.subscribers / reference_seconds
    print(
        f"console: publish -> last delivery {console_seconds:.1f} s, {console_rate:,.0f} messages/s "
        f"({job.sent:,} sent, {job.failed} failed, {job.unknown} unknown; the sink counted {received:,})"
    )
    print(f"reference (bare smtplib loop): {reference_seconds:.1f} s, {reference_rate:,.0f} messages/s")
    print(f"ratio console/reference: {console_rate / reference_rate:.2f} (target >= 0.8)")
    if probes:
        print(
            f"publish during the fan-out: p50 {percentile(probes, 50) * 1000:.0f} ms, "
            f"p99 {percentile(probes, 99) * 1000:.0f} ms over {len(probes)} publications (target < 100 ms)"
        )
    print(f"worker RSS growth: {(peak - rss_before) / 2**20:.0f} MB (target < 200 MB)")


if __name__ == "__main__":
    main()
