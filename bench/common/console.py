"""`console serve` in its own process on a fresh SQLite database, for the benchmarks that time
the served site from outside it (the client's work then never shares the server's interpreter)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common.harness import free_port, post, wait_for_http
from console.db import Database
from console.domain import accounts
from console.domain.actors import OPERATOR
from console.keyset import create_key_file
from console.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
EMAIL, PASSWORD = "pio@bench", "x" * 16
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')  # a form's CSRF token


@dataclass(frozen=True)
class ServedConsole:
    base: str
    token: str  # the PIO's API token
    database_url: str

    def new_incident(self, title: str) -> str:
        """Creates an incident through the API; its slug."""
        return str(
            post(f"{self.base}/api/v1/incidents", self.token, {"title": title, "location": "Elm St"})["slug"]
        )


@contextmanager
def served_console(workdir: Path, *, separate_worker: bool = False) -> Iterator[ServedConsole]:
    """The console serving `workdir`'s database, with one PIO (EMAIL, PASSWORD) and a token.
    `separate_worker`: as the Procfile deploys it, the outbox in a `console worker` process of
    its own and none in the web process (OUTBOX_IN_PROCESS=false)."""
    database_url = f"sqlite:///{workdir}/console.db"
    db = Database(database_url)
    upgrade(db)
    with db.write() as session:
        accounts.create_user(
            session, OPERATOR, email=EMAIL, display_name="Bench PIO", role="pio", password=PASSWORD
        )
    with db.write() as session:
        token = accounts.create_token(session, OPERATOR, email=EMAIL).secret
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    create_key_file(workdir / "signing-key.pem")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ARCHIVE_DIR": str(workdir / "archive"),
        "PUBLIC_URL": base,
        "SIGNING_KEY_FILE": str(workdir / "signing-key.pem"),
    }
    commands = [["serve", "--port", str(port)]]
    if separate_worker:
        env["OUTBOX_IN_PROCESS"] = "false"
        commands.append(["worker"])
    with (workdir / "console.log").open("w") as log:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "console", *command],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for command in commands
        ]
        try:
            wait_for_http(f"{base}/healthz")
            yield ServedConsole(base, token, database_url)
        finally:
            for process in processes:
                process.terminate()
                process.wait(60)
