"""What the operator is told when the database behind `console` cannot be used: a database that
is down, one that was never migrated, a DATABASE_URL of a kind the console does not speak, two
commands migrating a new database at once."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import main
from console.settings import Settings, SettingsError

# Nothing listens on port 1: the connection is refused at once.
DOWN = "postgresql://console:hunter2@127.0.0.1:1/console"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, signing_key_file: Path) -> Path:
    monkeypatch.setenv("SIGNING_KEY_FILE", str(signing_key_file))
    return signing_key_file


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "upgrade"],
        ["tokens", "create", "--email", "pat@example.org"],
        ["users", "disable", "--email", "pat@example.org"],
        ["audit", "verify"],
        ["feeds", "rebuild"],
        ["keys", "rotate"],
    ],
)
def test_a_database_that_is_down_is_named_not_a_traceback(
    argv: list[str], keys: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", DOWN)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("console: ")
    assert "DATABASE_URL" in err and "127.0.0.1:1" in err and "Connection refused" in err
    assert "hunter2" not in err, "the password is never printed"
    assert "Traceback" not in err and "sqlalche.me" not in err


def test_a_sqlite_file_that_cannot_be_opened_is_named(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'no-such-dir' / 'console.db'}")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err and "unable to open database file" in err


@pytest.mark.parametrize(
    "argv", [["tokens", "create", "--email", "pat@example.org"], ["audit", "verify"], ["demo"]]
)
def test_a_database_never_migrated_says_to_migrate_it(
    argv: list[str],
    tmp_path: Path,
    keys: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("FEEDS_DIR", str(tmp_path / "feeds"))
    monkeypatch.setenv("ARCHIVE_DIR", str(tmp_path / "archive"))
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "console db upgrade" in err
    assert "Traceback" not in err and "sqlalche.me" not in err


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/console",
        "postgress://postgres@localhost/console",
        "console.db",
        "sqlite//x.db",
    ],
)
def test_a_database_url_the_console_cannot_use_is_a_setting_error(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings(database_url=url)
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("console: setting error: DATABASE_URL")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///./console.db",
        "sqlite:////var/lib/console/console.db",
        "sqlite+pysqlite:///x.db",
        "postgres://user:pw@db.internal/console",
        "postgresql://user@db.internal:5433/console",
        "postgresql+psycopg://user@db.internal/console",
    ],
)
def test_the_documented_database_urls_are_accepted(url: str) -> None:
    assert Settings(database_url=url).database_url == url


@pytest.mark.slow  # processes of their own
def test_two_commands_migrating_a_new_sqlite_database_at_once_both_succeed(tmp_path: Path) -> None:
    """`console serve` and `console users create` (or two `db upgrade`s) on a new SQLite file:
    the second waits for the first rather than failing with "database is locked"."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"}
    for _ in range(3):
        (tmp_path / "console.db").unlink(missing_ok=True)
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "console", "db", "upgrade"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        answers = [(run, *run.communicate(timeout=300)) for run in runs]  # both read and closed first
        for run, out, err in answers:
            assert run.returncode == 0, err
            assert "database is at the newest schema" in out


def worker_env(tmp_path: Path, database_url: str, signing_key_file: Path) -> dict[str, str]:
    """The environment of a `console worker` of the test's own, on `database_url`."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SIGNING_KEY_FILE": str(signing_key_file),
        "FEEDS_DIR": str(tmp_path / "feeds"),
        "ARCHIVE_DIR": str(tmp_path / "archive"),
    }


@pytest.mark.slow  # a worker process of its own
def test_a_worker_started_on_a_database_never_migrated_says_so_and_exits(
    tmp_path: Path, signing_key_file: Path
) -> None:
    """Not a traceback every poll, forever: the worker's dispatcher outlasts a database that is
    down for a while, but a schema that is not there will not come by itself."""
    run = subprocess.run(
        [sys.executable, "-m", "console", "worker"],
        env=worker_env(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}", signing_key_file),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert run.returncode == 1
    assert "console db upgrade" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.slow  # a worker process of its own
def test_a_worker_started_while_the_database_is_down_waits_for_it(
    tmp_path: Path, signing_key_file: Path
) -> None:
    """A database restarting as the worker starts is an outage to ride out, not a reason to exit."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "console", "worker"],
        env=worker_env(tmp_path, DOWN, signing_key_file),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            worker.wait(timeout=5)
    finally:
        worker.terminate()
        worker.communicate(timeout=30)


def test_a_full_disk_is_reported_not_a_traceback(
    env_for_files: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`console feeds rebuild` (after restoring a backup) on a disk that is full: the operator
    reads which file could not be written and why, and the exit status says it failed."""

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("console.files.os.fsync", full)
    assert main(["feeds", "rebuild"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("console: ") and "No space left on device" in err
    assert "Traceback" not in err


@pytest.fixture
def env_for_files(monkeypatch: pytest.MonkeyPatch, settings: Settings, db: object) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    monkeypatch.setenv("FEEDS_DIR", str(settings.feeds_dir))
    monkeypatch.setenv("ARCHIVE_DIR", str(settings.archive_dir))
    return settings
