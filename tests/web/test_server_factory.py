"""The Procfile's `web:` line serves the app the way `console serve` does."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from console.settings import Settings
from console.web import resident_sockets
from console.web.app import uvicorn_options

ROOT = Path(__file__).resolve().parents[2]


def web_line() -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return shlex.split(line.removeprefix("web:"))
    raise AssertionError("the Procfile has no web: line")


def test_the_web_line_passes_uvicorn_what_console_serve_does() -> None:
    words = web_line()
    assert words[:3] == ["uvicorn", "--factory", "console.web.app:create_server_app"]
    options = uvicorn_options(Settings.from_environ({}))
    expected = {
        "ws": ["--ws", resident_sockets.IMPORT_PATH],
        "ws_per_message_deflate": ["--ws-per-message-deflate", "false"],
        "ws_max_size": ["--ws-max-size", str(options["ws_max_size"])],
        "ws_ping_interval": ["--ws-ping-interval", f"{options['ws_ping_interval']:g}"],
        "ws_ping_timeout": ["--ws-ping-timeout", f"{options['ws_ping_timeout']:g}"],
        "access_log": ["--no-access-log"],
        "timeout_graceful_shutdown": [
            "--timeout-graceful-shutdown",
            str(options["timeout_graceful_shutdown"]),
        ],
    }
    assert set(expected) == set(options)
    assert options["ws_per_message_deflate"] is False and options["access_log"] is False
    for flag in expected.values():
        start = words.index(flag[0])
        assert words[start : start + len(flag)] == flag


@pytest.mark.slow
def test_the_server_factory_tunes_the_interpreter_and_logging_in_its_process(tmp_path: Path) -> None:
    # In a process of its own: freezing the test process's objects would outlive this test.
    script = (
        "import gc, sys\n"
        "from console.web.app import create_server_app\n"
        "assert gc.get_threshold() != (10_000, 10, 100)\n"
        "app = create_server_app()\n"
        "print(type(app).__name__, gc.get_threshold(), gc.get_freeze_count() > 0, sys.getswitchinterval())\n"
        "import logging\n"
        "logging.getLogger('console.web.handshakes').info('websocket handshake refused: 404 /live')\n"
    )
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/console.db", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Starlette", "(10000,", "10,", "100)", "True", "0.001"]
    # its logging is set up as `console serve`'s: the app's INFO lines, with time, level and logger
    assert re.search(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO console.web.handshakes:"
        r" websocket handshake refused: 404 /live$",
        done.stderr,
        re.MULTILINE,
    ), done.stderr
