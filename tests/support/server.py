"""`console serve` in a real subprocess, for tests that kill it or talk to it over sockets."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from console.keyset import create_key_file

ROOT = Path(__file__).resolve().parents[2]
_KEYS = Path(tempfile.mkdtemp(prefix="console-test-keys-"))
atexit.register(shutil.rmtree, _KEYS, ignore_errors=True)


def test_key_file() -> Path:
    """One signing key set for every server process of this run, outside the repository."""
    path = _KEYS / "signing-key.pem"
    if not path.exists():
        create_key_file(path, now=datetime(2000, 1, 1, tzinfo=UTC))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self,
        env: Mapping[str, str],
        *,
        port: int | None = None,
        command: tuple[str, ...] = ("serve",),
        cwd: Path = ROOT,
        default_key_file: bool = False,
    ):
        """`default_key_file`: leave SIGNING_KEY_FILE unset (`signing-key.pem` in `cwd`, which
        `console serve` creates); otherwise it is this run's test key set, unless `env` names one."""
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "SIGNING_KEY_FILE": str(test_key_file()),
            **env,
            "PUBLIC_URL": env.get("PUBLIC_URL", f"http://127.0.0.1:{self.port}"),
        }
        if default_key_file:
            del self.env["SIGNING_KEY_FILE"]
        self.cwd = cwd
        self.command = command
        self.process: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.lines: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def start(self, timeout: float = 30) -> ServerProcess:
        args = [sys.executable, "-m", "console", *self.command]
        if self.command == ("serve",):
            args += ["--port", str(self.port)]
        self.process = subprocess.Popen(
            args, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self.reader.start()
        if self.command == ("serve",):
            self.wait_healthy(timeout)
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.output}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise TimeoutError(f"server not healthy after {timeout}s:\n{self.output}")

    def kill(self) -> None:
        """kill -9: no cleanup, no graceful shutdown."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.process is None:
            return
        self.process.wait(10)
        if self.reader is not None:
            self.reader.join(5)
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
