"""Settings, read once from the environment.

Every setting is documented in the README (a test keeps the two in step). Nothing here
opens a connection: `Settings.from_environ()` only parses strings.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.config import Config
from starlette.datastructures import Secret

DEFAULT_DATABASE_URL = "sqlite:///./console.db"


class SettingsError(ValueError):
    """A setting has a value the console cannot run with."""


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(32)))
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "UTC"
    archive_dir: Path = Path("archive")
    channels: tuple[str, ...] = ("live", "archive")
    outbox_in_process: bool = True
    outbox_poll_seconds: float = 1.0
    outbox_lease_seconds: float = 30.0
    outbox_max_attempts: int = 25
    outbox_backoff_base_seconds: float = 2.0
    outbox_backoff_max_seconds: float = 300.0
    max_request_bytes: int = 256 * 1024
    admin_email: str = "admin@localhost"

    def __post_init__(self) -> None:
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"PUBLIC_URL must be an absolute http(s) URL, not {self.public_url!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"TIMEZONE {self.timezone!r} is not a known IANA zone") from exc
        if self.outbox_lease_seconds <= 0 or self.outbox_poll_seconds <= 0:
            raise SettingsError("OUTBOX_LEASE_SECONDS and OUTBOX_POLL_SECONDS must be positive")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        config = Config(environ=os.environ if environ is None else environ)
        secret = config("SECRET_KEY", cast=Secret, default=None)
        return cls(
            database_url=config("DATABASE_URL", default=DEFAULT_DATABASE_URL),
            secret_key=secret if secret is not None else Secret(secrets.token_urlsafe(32)),
            public_url=config("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/"),
            timezone=config("TIMEZONE", default="UTC"),
            archive_dir=Path(config("ARCHIVE_DIR", default="archive")),
            channels=_csv(config("CHANNELS", default="live,archive")),
            outbox_in_process=config("OUTBOX_IN_PROCESS", cast=bool, default=True),
            outbox_poll_seconds=config("OUTBOX_POLL_SECONDS", cast=float, default=1.0),
            outbox_lease_seconds=config("OUTBOX_LEASE_SECONDS", cast=float, default=30.0),
            outbox_max_attempts=config("OUTBOX_MAX_ATTEMPTS", cast=int, default=25),
            outbox_backoff_base_seconds=config("OUTBOX_BACKOFF_BASE_SECONDS", cast=float, default=2.0),
            outbox_backoff_max_seconds=config("OUTBOX_BACKOFF_MAX_SECONDS", cast=float, default=300.0),
            max_request_bytes=config("MAX_REQUEST_BYTES", cast=int, default=256 * 1024),
            admin_email=config("ADMIN_EMAIL", default="admin@localhost"),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookies_secure(self) -> bool:
        return self.public_url.startswith("https://")
