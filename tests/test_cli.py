"""The `console` command, as operators and scripts use it."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from console.channels.registry import routing as routing_for
from console.cli import main
from console.db import Database
from console.domain.accounts import check_credentials
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.media import MediaDraft
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.media import store
from console.media_models import MediaFile
from console.migrate import alembic_config, schema_revision
from console.models import User
from console.settings import Settings
from tests.conftest import PIO
from tests.support.http_thread import serve_in_thread
from tests.support.images import photo_with_gps, png, webp
from tests.support.media import store_upload
from tests.support.server import ServerProcess


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("ARCHIVE_DIR", str(settings.archive_dir))
    monkeypatch.setenv("FEEDS_DIR", str(settings.feeds_dir))
    return settings


def test_users_create_reads_the_password_from_two_lines_of_stdin(
    env: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\na long enough secret\n"))
    assert main(["users", "create", "--email", "Pat@Example.org", "--role", "pio", "--name", "Pat Lee"]) == 0
    assert "created pio account pat@example.org (Pat Lee)" in capsys.readouterr().out
    with db.read() as session:
        assert check_credentials(session, "pat@example.org", "a long enough secret") is not None
        assert check_credentials(session, "pat@example.org", "wrong") is None


def test_users_create_on_a_database_never_migrated_migrates_it_first(
    env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", fresh)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\na long enough secret\n"))
    assert main(["users", "create", "--email", "first@example.org", "--role", "admin"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[-2:] == [
        "the database had no schema yet: migrated it to the newest",
        "created admin account first@example.org (first)",
    ]
    db = Database(fresh)
    try:
        assert schema_revision(db) == ScriptDirectory.from_config(alembic_config()).get_current_head()
        with db.read() as session:
            assert check_credentials(session, "first@example.org", "a long enough secret") is not None
    finally:
        db.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO("another long secret\nanother long secret\n"))
    assert main(["users", "create", "--email", "second@example.org", "--role", "pio"]) == 0
    assert "migrated" not in capsys.readouterr().out  # only the first time


def test_users_create_refuses_mismatched_or_short_passwords(
    env: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("one password here\nanother one here\n"))
    assert main(["users", "create", "--email", "a@example.org", "--role", "pio"]) == 1
    assert "passwords differ" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\nshort\n"))
    assert main(["users", "create", "--email", "a@example.org", "--role", "pio"]) == 1
    assert "password: must be 12 to 1024 characters" in capsys.readouterr().err
    with db.read() as session:
        assert session.scalars(select(User)).first() is None


def test_tokens_create_prints_the_token_alone_on_the_last_line(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\na long enough secret\n"))
    main(["users", "create", "--email", "bot@example.org", "--role", "pio"])
    capsys.readouterr()
    assert main(["tokens", "create", "--email", "bot@example.org", "--name", "CAD bridge"]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    assert token.startswith("ick_") and " " not in token and len(token) > 40
    assert main(["tokens", "create", "--email", "nobody@example.org"]) == 1


def test_demo_then_worker_then_audit_verify(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert "/incidents/police-activity-near-riverside-park" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    record = json.loads(
        (env.archive_dir / "incidents" / "police-activity-near-riverside-park.json").read_text()
    )
    kinds = sorted({v["kind"] for u in record["updates"] for v in u["versions"]})
    assert kinds == ["confirmation", "correction", "original", "retraction"]
    assert main(["audit", "verify"]) == 0
    assert "audit chain verified through event" in capsys.readouterr().out


def test_audit_verify_fails_naming_the_row(
    env: Settings, tampered_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["demo"])
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'nobody' WHERE seq = 4"))
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    assert "audit chain broken at event 4" in capsys.readouterr().err


def test_bad_settings_are_reported_not_crashed_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus_Mons")
    assert main(["audit", "verify"]) == 2
    assert "TIMEZONE 'Mars/Olympus_Mons' is not a known IANA zone" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1", "Address already in use"), ("192.0.2.1", "Cannot assign requested address")],
)
def test_serve_where_it_cannot_listen_says_so_before_writing_anything(
    host: str,
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A port in use (another server, the previous one not yet gone) or an address not this
    machine's: no migration, no signing key, no admin password printed for nothing."""
    monkeypatch.chdir(tmp_path)  # where the development signing key would be created
    monkeypatch.delenv("SIGNING_KEY_FILE", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'console.db'}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--host", host, "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert err == f"console: cannot listen on {host}:{port}: {reason}\n"
    assert out == ""
    assert list(tmp_path.iterdir()) == [], "nothing is created"


def _bad_key_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / "bad" / "signing-key.pem"
    path.parent.mkdir()
    if kind == "unreadable":
        path.mkdir()  # reading it fails, whoever runs the test (root reads a mode-000 file)
    elif kind == "malformed":
        path.write_text("kid=abc not_before=2000-01-01T00:00:00Z\nnot a PEM block\n")
    return path


KEY_READERS = [
    ["serve", "--port", "0"],
    ["demo"],
    ["keys", "rotate"],
    ["audit", "verify"],
    ["archive", "export", "SNAPSHOT"],
    ["verify", "RECORD"],
]


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        pytest.param(argv, kind, id=f"{' '.join(argv[:2])}-{kind}")
        for argv in KEY_READERS
        for kind in ("missing", "unreadable", "malformed")
        # Without any key file, `audit verify` checks the chain alone, with a note (documented).
        if (argv, kind) != (["audit", "verify"], "missing")
    ],
)
def test_a_signing_key_file_that_cannot_be_used_is_a_setting_error_for_every_command(
    argv: list[str],
    kind: str,
    env: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exit 2 (configuration), one line naming SIGNING_KEY_FILE, whichever command reads it."""
    path = _bad_key_file(kind, tmp_path)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(path))
    record = tmp_path / "record.json"
    record.write_text("{}")
    argv = [{"SNAPSHOT": str(tmp_path / "snapshot"), "RECORD": str(record)}.get(a, a) for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("console: ") and err.count("\n") == 1, err
    assert f"SIGNING_KEY_FILE {path}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "snapshot").exists()
    if kind != "unreadable":
        assert path.exists() == (kind != "missing"), "the key file is left as it was"


@pytest.mark.slow
def test_serve_migrates_creates_an_admin_once_and_answers(tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "ARCHIVE_DIR": str(tmp_path / "archive")}
    with ServerProcess(env) as server:
        assert "password:" in server.output
        with urllib.request.urlopen(f"{server.url}/healthz") as response:
            assert json.load(response)["status"] == "ok"
        password = server.output.split("password:")[1].split()[0]
    db = Database(database_url)
    with db.read() as session:
        admin = check_credentials(session, "admin@localhost", password)
        assert admin is not None and admin.role.value == "admin" and admin.must_change_password
    db.dispose()
    with ServerProcess(env) as again:
        assert "password:" not in again.output, "the admin is created only when there is no account"


def test_media_prune_removes_old_uploads_never_attached_and_their_files(
    env: Settings,
    db: Database,
    routing: Routing,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MEDIA_DIR", str(env.media_dir))
    long_ago = datetime.now(UTC) - timedelta(hours=30)
    orphan, _ = store_upload(db, env, photo_with_gps(), "image/jpeg", now=long_ago)
    attached, _ = store_upload(db, env, png(), "image/png", now=long_ago)
    recent, _ = store_upload(db, env, webp(), "image/webp")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=routing)
        draft = Draft(body="Smoke.", media=(MediaDraft(attached, "Smoke over the bridge"),))
        publish_update(session, PIO, incident.slug, draft, routing=routing)
    on_disk = set(env.media_dir.iterdir())

    assert main(["media", "prune"]) == 0
    out = capsys.readouterr().out
    with db.read() as session:
        left = {row.id: row.sha256 for row in session.scalars(select(MediaFile))}
    assert orphan not in left and {attached, recent} <= set(left)
    removed = on_disk - set(env.media_dir.iterdir())
    assert len(removed) == 2  # the upload and its narrower copy
    assert {path.name for path in env.media_dir.iterdir()} == {
        store.file_name(sha, ext) for sha, ext in ((row.sha256, row.extension) for row in _media_rows(db))
    }
    assert f"removed upload {orphan} (uploaded " in out
    assert all(path.name in out for path in removed)
    assert out.rstrip().endswith("1 uploads never attached and older than 24 hours removed (2 files)")

    assert main(["media", "prune", "--older-than", "0"]) == 0  # no grace: the recent one too
    assert f"removed upload {recent} " in capsys.readouterr().out
    assert main(["media", "prune", "--older-than", "0"]) == 0
    assert "0 uploads never attached and older than 0 hours removed (0 files)" in capsys.readouterr().out


def test_media_prune_refuses_a_bad_grace_period(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("-1", "soon", "nan"):
        with pytest.raises(SystemExit) as exited:
            main(["media", "prune", "--older-than", value])
        assert exited.value.code == 2
    assert "--older-than" in capsys.readouterr().err


def _media_rows(db: Database) -> list[MediaFile]:
    with db.read() as session:
        return list(session.scalars(select(MediaFile)))


@contextmanager
def worker_process(environment: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """`console worker` in a process of its own, killed if a test leaves it running."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "console", "worker"], env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()


@pytest.mark.slow  # a worker process of its own
def test_a_worker_stops_gently_on_sigterm(env: Settings) -> None:
    """A restart sends SIGTERM: the worker stops claiming, records what it is sending, and
    exits 0 (it used to die at once, leaving a delivery to its lease)."""
    environment = {
        **os.environ,
        "DATABASE_URL": env.database_url,
        "CHANNELS": "archive",
        "ARCHIVE_DIR": str(env.archive_dir),
    }
    with worker_process(environment) as worker:
        assert worker.stderr is not None
        lines = []
        for line in worker.stderr:
            lines.append(line)
            if "outbox worker delivering archive" in line:
                break
        worker.send_signal(signal.SIGTERM)
        _, rest = worker.communicate(timeout=20)
    output = "".join(lines) + rest
    assert worker.returncode == 0, output
    assert "INFO console.cli: outbox worker stopping: recording the deliveries under way" in output
    assert output.rstrip().endswith("INFO console.cli: outbox worker stopped")


@pytest.mark.slow  # a worker process of its own
def test_a_worker_whose_delivery_outlasts_the_grace_still_exits_in_time(env: Settings, db: Database) -> None:
    """A delivery that runs in a thread (a WebSub ping to a hub that takes 9 s) cannot be
    stopped: past the grace, the worker ends at once, leaving it to its lease, rather than
    waiting for it past the platform's kill."""
    pinged = threading.Event()

    class SlowHub(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            pinged.set()
            time.sleep(9)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hub = ThreadingHTTPServer(("127.0.0.1", 0), SlowHub)
    stop_hub = serve_in_thread(hub)
    environment = {
        **os.environ,
        "DATABASE_URL": env.database_url,
        "CHANNELS": "feeds,websub",
        "FEEDS_DIR": str(env.feeds_dir),
        "WEBSUB_HUB": f"http://127.0.0.1:{hub.server_port}/hub",
        "OUTBOX_POLL_SECONDS": "0.1",
    }
    try:
        with db.write() as session:
            routing = routing_for(Settings.from_environ(environment))
            incident, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)
            publish_update(session, PIO, incident.slug, Draft(body="Move to higher ground."), routing=routing)
        with worker_process(environment) as worker:
            assert pinged.wait(30), "the hub was pinged"
            worker.send_signal(signal.SIGTERM)
            started = time.monotonic()
            _, output = worker.communicate(timeout=30)
            took = time.monotonic() - started
    finally:
        stop_hub()
    assert worker.returncode == 0, output
    assert "deliveries under way are left to their leases" in output
    assert took < 9, f"{took:.1f} s: it waited for the hub"


def _resolving(monkeypatch: pytest.MonkeyPatch, name: str, addresses: list[str]) -> None:
    """`name` resolves to `addresses` (a hostname of the operator's: an IPv6-only name, or one
    with both families), as uvicorn's asyncio server then binds every one of them."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list[object]:
        if host != name:
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, int(str(port)), 0, 0) if ":" in address else (address, int(str(port))),
            )
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_the_port_check_resolves_a_hostname_as_the_server_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """An IPv6-only hostname is listened on (uvicorn binds its addresses); a hostname with both
    families is refused when either address's port is taken, as uvicorn would fail then."""
    from console.cli import listen_problem

    _resolving(monkeypatch, "v6only.test", ["::1"])
    with socket.socket(socket.AF_INET6) as busy:
        busy.bind(("::1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert listen_problem("v6only.test", taken) == "Address already in use"
        _resolving(monkeypatch, "both.test", ["127.0.0.1", "::1"])
        assert listen_problem("both.test", taken) == "Address already in use"
    with socket.socket(socket.AF_INET6) as free:
        free.bind(("::1", 0))
        port = free.getsockname()[1]
    assert listen_problem("v6only.test", port) is None


def test_the_ipv6_wildcard_is_checked_as_ipv6_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn (asyncio) listens on `::` with IPV6_V6ONLY: another server on 0.0.0.0 at the
    same port does not stop it, so it must not stop the check."""
    from console.cli import listen_problem

    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        port = other.getsockname()[1]
        assert listen_problem("::", port) is None


def test_the_port_check_refuses_a_port_past_65535() -> None:
    """Resolving the address would wrap it round (70000 to 4464)."""
    from console.cli import listen_problem

    assert listen_problem("127.0.0.1", 70000) == "port must be 0-65535"
