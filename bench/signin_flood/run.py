"""Benchmark: publishing while one address floods the sign-in form (issue 14, point 4).

Run: `.venv/bin/python bench/signin_flood/run.py [--flood 1500] [--updates 100]`.

In one process (the app under Starlette's test client, SQLite in a temporary directory):
the reference publishes `--updates` updates through the API alone; then the same number is
published while a thread sends `--flood` wrong sign-ins from one address as fast as it can.
Printed: publish p50 and p99 for both (and the ratio), the flood's answers, and the rows the
flood wrote (audit events and sign-in attempts): they stop growing at the lockouts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from bench.common.console import TOKEN_FIELD  # noqa: E402
from bench.common.harness import percentile  # noqa: E402
from console.db import Database  # noqa: E402
from console.domain import accounts  # noqa: E402
from console.domain.actors import OPERATOR  # noqa: E402
from console.keyset import create_key_file  # noqa: E402
from console.migrate import upgrade  # noqa: E402
from console.models import AuditEvent, SignInAttempt  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.web.app import create_app  # noqa: E402


def publish(client: TestClient, token: str, slug: str, count: int) -> list[float]:
    times = []
    for n in range(count):
        start = time.perf_counter()
        response = client.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"body": f"Road closed at Main St ({n})."},
            headers={"Authorization": f"Bearer {token}"},
        )
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 201, response.text
    return times


def flood(client: TestClient, count: int, answers: Counter[int]) -> None:
    page = client.get("/login")
    found = TOKEN_FIELD.search(page.text)
    assert found
    for n in range(count):
        form = {"email": f"guess{n % 200}@example.org", "password": "wrong", "csrf_token": found.group(1)}
        answers[client.post("/login", data=form, follow_redirects=False).status_code] += 1


def rows(db: Database) -> tuple[int, int]:
    with db.read() as session:
        signins = select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("signin.%"))
        audit = session.scalar(signins) or 0
        attempts = session.scalar(select(func.count()).select_from(SignInAttempt)) or 0
    return audit, attempts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=1500)
    parser.add_argument("--updates", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        keys = Path(work) / "signing-key.pem"
        create_key_file(keys)
        settings = Settings(
            database_url=f"sqlite:///{work}/console.db",
            signing_key_file=keys,
            archive_dir=Path(work) / "archive",
            feeds_dir=Path(work) / "feeds",
            outbox_in_process=False,
        )
        db = Database(settings.database_url)
        upgrade(db)
        with db.write() as session:
            accounts.create_user(
                session, OPERATOR, email="pio@example.org", display_name="PIO", role="pio", password="x" * 16
            )
            secret = accounts.create_token(session, OPERATOR, email="pio@example.org").secret
        with TestClient(create_app(settings)) as client:
            created = client.post(
                "/api/v1/incidents", json={"title": "Flood"}, headers={"Authorization": f"Bearer {secret}"}
            )
            slug = created.json()["slug"]
            reference = publish(client, secret, slug, args.updates)
            before = rows(db)
            answers: Counter[int] = Counter()
            flooder = threading.Thread(target=flood, args=(client, args.flood, answers))
            flooder.start()
            during = publish(client, secret, slug, args.updates)
            flooder.join()
            after = rows(db)
        db.dispose()
    for name, times in (("reference (no flood)", reference), ("during the flood", during)):
        print(
            f"{name:22} publish p50 {statistics.median(times):6.1f} ms  p99 {percentile(times, 99):6.1f} ms"
        )
    print(f"ratio p99 during/reference: {percentile(during, 99) / percentile(reference, 99):.2f}")
    print(f"flood answers: {dict(sorted(answers.items()))}")
    print(
        f"rows written by the flood: {after[0] - before[0]} audit events, "
        f"{after[1] - before[1]} sign-in attempts (for {args.flood} refused sign-ins)"
    )


if __name__ == "__main__":
    main()
