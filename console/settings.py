"""Settings, read once from the environment.

Every setting is documented in the README (a test keeps the two in step). Nothing here
opens a connection: `Settings.from_environ()` only parses strings.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from starlette.config import Config
from starlette.datastructures import Secret

from console.languages import LANGUAGE_TAG, UnknownLanguage, canonical_language

# The images AGENCY_LOGO may be, by file suffix, with the type it is served as.
LOGO_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}

# CAP 1.2: sender and identifier may hold no whitespace, comma, "<" or "&".
_CAP_FORBIDDEN = re.compile(r"[\s,<&]")
BROADCAST_SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql")
# What DATABASE_URL may name (console/db.py `normalize_url` makes postgres:// and postgresql://
# into psycopg's driver): SQLite and PostgreSQL, with the drivers the console ships with.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgres", "postgresql", "postgresql+psycopg")


def check_database_url(url: str) -> None:
    """DATABASE_URL names a database the console can open (SQLite or PostgreSQL); parsing only,
    nothing is connected to. The message shows the URL without its password."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        shown = "(not shown: it may hold a password)" if "@" in url else repr(url)
    else:
        if parsed.drivername in DATABASE_DRIVERS:
            return
        shown = repr(parsed.render_as_string(hide_password=True))
    raise SettingsError(
        f"DATABASE_URL must be sqlite:///path/to/console.db or postgresql://user@host/db, not {shown}"
    )


def _is_vapid_key(text: str) -> bool:
    """A P-256 private key in base64url, raw (32 bytes) or DER, as py-vapid reads it."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        if len(raw) == 32:
            ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            return True
        key = load_der_private_key(raw, password=None)
    except ValueError:
        return False
    return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)


class SettingsError(ValueError):
    """A setting has a value the console cannot run with."""


# Social adapters make at most three requests per attempt; the channel's own timeout (120 s) covers them.
MAX_SOCIAL_REQUEST_TIMEOUT = 30.0


def _secret(value: str) -> Secret | None:
    return Secret(value.strip()) if value.strip() else None


def _url(value: str) -> str | None:
    return value.strip().rstrip("/") or None


def _optional(value: str) -> str | None:
    return value or None


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


# What APPROVAL_REQUIRED may name (issue 18; console/domain/approval.py); `true` names them all.
APPROVAL_KINDS = ("original", "correction", "retraction", "resolve")


def _approval(value: str) -> tuple[str, ...]:
    """APPROVAL_REQUIRED: `false` (none), `true` (every kind) or a comma list of APPROVAL_KINDS."""
    text = value.strip().lower()
    if text in ("", "false", "0"):
        return ()
    if text in ("true", "1"):
        return APPROVAL_KINDS
    return _csv(text)


def _bool(value: str) -> bool:
    flags = {"true": True, "1": True, "false": False, "0": False}
    if value.strip().lower() not in flags:
        raise ValueError("not true or false")
    return flags[value.strip().lower()]


# How an environment variable's text becomes a field of each type; a field whose text needs
# more than its type says names its own parser in `parse` (see `setting`).
PARSERS: Mapping[object, Callable[[str], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _bool,
    Path: Path,
    Secret: Secret,
    tuple[str, ...]: _csv,
    Secret | None: _secret,
    str | None: _optional,
    Path | None: lambda value: Path(value) if value.strip() else None,
}


def setting(default: Any, *, parse: Callable[[str], Any] | None = None, formerly: str | None = None) -> Any:
    """A field whose environment text needs its own parser, or that answers to an older name."""
    return field(default=default, metadata={"parse": parse, "formerly": formerly})


def environment_names(spec: Field[Any]) -> list[str]:
    """The variables a field is read from, in order: its own name, then any older one."""
    formerly = spec.metadata.get("formerly")
    return [spec.name.upper(), *([formerly] if formerly else [])]


def _parse(name: str, raw: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} has value {raw!r}, which is not valid: {exc}") from exc


def parse_languages(tags: tuple[str, ...]) -> tuple[str, ...]:
    """LANGUAGES, checked: known language tags, no repeats, at least one; the first is primary."""
    if not tags:
        raise SettingsError("LANGUAGES must name at least one language, the primary one first (e.g. en,es)")
    canonical: list[str] = []
    for tag in tags:
        try:
            language = canonical_language(tag)
        except UnknownLanguage as exc:
            raise SettingsError(f"LANGUAGES: {exc}") from exc
        if language in canonical:
            raise SettingsError(f"LANGUAGES names {language!r} twice")
        canonical.append(language)
    return tuple(canonical)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./console.db"
    secret_key: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(32)))
    public_url: str = setting("http://127.0.0.1:8000", parse=lambda value: value.rstrip("/"))
    timezone: str = "UTC"
    archive_dir: Path = Path("archive")
    channels: tuple[str, ...] = ("live", "archive", "feeds", "x", "mastodon", "subscribers")
    outbox_in_process: bool = True
    # Admins must turn on a TOTP second factor before using the console (console/domain/mfa.py).
    mfa_required: bool = False
    # Two-person approval (issue 18): the kinds of version a second PIO or admin must approve.
    approval_required: tuple[str, ...] = setting((), parse=_approval)
    outbox_poll_seconds: float = 1.0
    outbox_lease_seconds: float = 30.0
    outbox_max_attempts: int = 25
    outbox_backoff_base_seconds: float = 2.0
    outbox_backoff_max_seconds: float = 300.0
    max_request_bytes: int = 256 * 1024
    admin_email: str = "admin@localhost"
    # Social channels: no credentials means preview mode (posts are composed, never sent).
    x_api_key: Secret | None = None
    x_api_secret: Secret | None = None
    x_access_token: Secret | None = None
    x_access_token_secret: Secret | None = None
    x_api_base_url: str | None = setting(None, parse=_url)
    mastodon_base_url: str | None = setting(None, parse=_url)
    mastodon_access_token: Secret | None = None
    social_request_timeout_seconds: float = 20.0
    feeds_dir: Path = Path("feeds")
    feeds_max_entries: int = 100
    feeds_title: str = "Incident updates"
    feeds_language: str = "en-US"
    websub_hub: str | None = None
    cap_sender: str | None = None  # None: PUBLIC_URL's host
    # Live page (see console/live/): pub/sub between processes, resume, slow clients, page caching.
    broadcast_url: str = "memory://"
    # The pub/sub topic every server process shares; BROADCAST_CHANNEL is its former name.
    broadcast_topic: str = setting("console_live", formerly="BROADCAST_CHANNEL")
    live_poll_seconds: float = 5.0
    live_resume_max_events: int = 200
    live_send_buffer: int = 32
    live_ping_seconds: float = 20.0
    live_hello_seconds: float = 10.0
    live_max_message_bytes: int = 1024
    public_cache_seconds: int = 5
    public_timeline_limit: int = 50
    # Languages of updates (issue 8): the first is the primary language every update is written in.
    languages: tuple[str, ...] = ("en",)
    # The agency's Ed25519 key set (issue 19; format in console/keyset.py). `console serve`
    # creates it on first start while this is left at its default.
    signing_key_file: Path = Path("signing-key.pem")
    # CAP messages carry an XML signature with this RSA key and X.509 certificate (PEM files),
    # when both are set (console/feeds/cap_signing.py); `console keys create --cap` makes a test pair.
    cap_signing_key: Path | None = None
    cap_signing_cert: Path | None = None
    # Alerts pushed to subscribers (issue 16; the `subscribers` channel). Without SMTP_URL
    # email runs in preview: each message is written as an .eml file under MAIL_PREVIEW_DIR.
    smtp_url: Secret | None = None
    mail_from: str = "alerts@localhost"
    mail_preview_dir: Path = Path("mail-preview")
    smtp_timeout_seconds: float = 20.0
    smtp_connections: int = 4  # email alerts go out over this many SMTP connections at once
    subscriber_batch_size: int = 200
    subscribe_ip_limit: int = 20  # POST /subscribe per client address per hour
    webhook_allow_private: bool = False
    webhook_timeout_seconds: float = 10.0
    # SMS alerts through Twilio (console/alerts/sms.py). Without TWILIO_ACCOUNT_SID SMS runs
    # in preview: messages are recorded, never sent. TWILIO_BASE_URL replaces
    # https://api.twilio.com (a test server); SMS_PER_SECOND is the account's sending rate.
    twilio_account_sid: str | None = None
    twilio_auth_token: Secret | None = None
    twilio_from: str | None = None
    twilio_base_url: str | None = setting(None, parse=_url)
    sms_per_second: float = 1.0
    # Against SMS pumping (codes sent to premium-rate numbers at the agency's cost): the number
    # prefixes codes and alerts may go to (empty: any), and codes sent an hour in all.
    sms_allowed_prefixes: tuple[str, ...] = ()
    sms_codes_per_hour: int = 60
    # Web Push (console/alerts/web_push.py): without VAPID_PRIVATE_KEY (from `console push keys`)
    # push runs in preview: subscriptions and deliveries are recorded, nothing is sent.
    vapid_private_key: Secret | None = None
    vapid_subject: str = "mailto:alerts@localhost"  # whom push services contact about our pushes
    push_allow_private: bool = False  # endpoints on private or loopback hosts, or plain http
    push_concurrency: int = 4  # pushes in flight at once, each to a push service
    push_timeout_seconds: float = 10.0
    # The agency's identity on every public surface (issue 18; console/agency.py): whose page
    # this is and where to call. The defaults are placeholders for a trial run.
    agency_name: str = "Example Public Safety Agency"
    agency_url: str | None = setting(None, parse=_url)
    agency_logo: Path | None = None  # an image file, served from our origin at /agency/logo
    agency_contact: str = "Press and non-emergency line: not set (AGENCY_CONTACT)"
    emergency_notice: str | None = None  # None: "In an emergency, call 911.", in the page's language
    # The console's drawing map (issue 17): its tiles, {z}/{x}/{y} (blank: no map, the area is
    # typed), and the credit their provider asks for. The console allows the tiles' origin for images.
    map_tiles_url: str | None = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_tiles_attribution: str = "© OpenStreetMap contributors"
    # Images attached to updates (issue 18): stored re-encoded under MEDIA_DIR, each named by
    # its SHA-256; an upload (POST /api/v1/media) may be at most MEDIA_MAX_BYTES.
    media_dir: Path = Path("media")
    media_max_bytes: int = 10 * 1024 * 1024

    def __post_init__(self) -> None:
        check_database_url(self.database_url)
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"PUBLIC_URL must be an absolute http(s) URL, not {self.public_url!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"TIMEZONE {self.timezone!r} is not a known IANA zone") from exc
        if self.outbox_lease_seconds <= 0 or self.outbox_poll_seconds <= 0:
            raise SettingsError("OUTBOX_LEASE_SECONDS and OUTBOX_POLL_SECONDS must be positive")
        self._check_social()
        self._check_feeds()
        self._check_live()
        if (self.cap_signing_key is None) != (self.cap_signing_cert is None):
            raise SettingsError("CAP_SIGNING_KEY and CAP_SIGNING_CERT are set together or not at all")
        object.__setattr__(self, "languages", parse_languages(self.languages))
        self._check_alerts()
        self._check_agency()
        self._check_map()
        unknown = [kind for kind in self.approval_required if kind not in APPROVAL_KINDS]
        if unknown:
            raise SettingsError(
                f"APPROVAL_REQUIRED names {', '.join(unknown)}: it is true, false or a comma list of "
                + ", ".join(APPROVAL_KINDS)
            )

    def _check_agency(self) -> None:
        if not self.agency_name.strip():
            raise SettingsError("AGENCY_NAME must not be blank")
        if self.agency_url is not None and urlsplit(self.agency_url).scheme not in ("http", "https"):
            raise SettingsError(f"AGENCY_URL must be an absolute http(s) URL, not {self.agency_url!r}")
        if self.agency_logo is not None and self.agency_logo.suffix.lower() not in LOGO_TYPES:
            kinds = ", ".join(sorted(LOGO_TYPES))
            raise SettingsError(f"AGENCY_LOGO must be a {kinds} file, not {self.agency_logo}")
        if self.emergency_notice is not None and not self.emergency_notice.strip():
            raise SettingsError("EMERGENCY_NOTICE must not be blank (leave it unset for the default)")

    def _check_map(self) -> None:
        if self.map_tiles_url is None:
            return
        parts = urlsplit(self.map_tiles_url)
        placeholders = all(name in self.map_tiles_url for name in ("{z}", "{x}", "{y}"))
        if parts.scheme not in ("http", "https") or not parts.hostname or not placeholders:
            raise SettingsError(
                "MAP_TILES_URL must be an absolute http(s) URL with {z}, {x} and {y}, "
                f"not {self.map_tiles_url!r}"
            )

    @property
    def map_tiles_origin(self) -> str | None:
        """Where the map's tiles come from, as a CSP source: "{s}" subdomains are any subdomain."""
        if self.map_tiles_url is None:
            return None
        parts = urlsplit(self.map_tiles_url)
        return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"

    def _check_alerts(self) -> None:
        if self.smtp_url is not None:
            scheme = urlsplit(str(self.smtp_url)).scheme
            if scheme not in ("smtp", "smtp+starttls", "smtps"):
                raise SettingsError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
        if "@" not in self.mail_from:
            raise SettingsError(f"MAIL_FROM must be an email address, not {self.mail_from!r}")
        if (
            min(
                self.subscriber_batch_size,
                self.subscribe_ip_limit,
                self.smtp_connections,
                self.push_concurrency,
            )
            < 1
        ):
            raise SettingsError(
                "SUBSCRIBER_BATCH_SIZE, SUBSCRIBE_IP_LIMIT, SMTP_CONNECTIONS and PUSH_CONCURRENCY "
                "must be at least 1"
            )
        if min(self.smtp_timeout_seconds, self.webhook_timeout_seconds, self.push_timeout_seconds) <= 0:
            raise SettingsError(
                "SMTP_TIMEOUT_SECONDS, WEBHOOK_TIMEOUT_SECONDS and PUSH_TIMEOUT_SECONDS must be positive"
            )
        if self.vapid_private_key is not None and not _is_vapid_key(self.vapid_private_key._value):
            raise SettingsError(
                "VAPID_PRIVATE_KEY is not a P-256 private key (make one with `console push keys`)"
            )
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise SettingsError(f"VAPID_SUBJECT must be a mailto: or https: URL, not {self.vapid_subject!r}")
        if self.twilio_account_sid is not None and (self.twilio_auth_token is None or not self.twilio_from):
            raise SettingsError("TWILIO_ACCOUNT_SID needs TWILIO_AUTH_TOKEN and TWILIO_FROM")
        if self.sms_per_second <= 0:
            raise SettingsError("SMS_PER_SECOND must be positive")
        if self.sms_codes_per_hour < 1:
            raise SettingsError("SMS_CODES_PER_HOUR must be at least 1")
        if any(not re.fullmatch(r"\+[0-9]{1,6}", prefix) for prefix in self.sms_allowed_prefixes):
            raise SettingsError("SMS_ALLOWED_PREFIXES are + and 1 to 6 digits each, e.g. +1,+52")

    @property
    def primary_language(self) -> str:
        return self.languages[0]

    def _check_social(self) -> None:
        x_keys = {
            "X_API_KEY": self.x_api_key,
            "X_API_SECRET": self.x_api_secret,
            "X_ACCESS_TOKEN": self.x_access_token,
            "X_ACCESS_TOKEN_SECRET": self.x_access_token_secret,
        }
        missing = [name for name, value in x_keys.items() if not value or not str(value)]
        if 0 < len(missing) < len(x_keys):
            raise SettingsError(f"set all four X credentials or none (preview mode); missing: {missing}")
        if bool(self.mastodon_base_url) != bool(
            self.mastodon_access_token and str(self.mastodon_access_token)
        ):
            raise SettingsError(
                "set both MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN, or neither (preview mode)"
            )
        for name, url in (
            ("X_API_BASE_URL", self.x_api_base_url),
            ("MASTODON_BASE_URL", self.mastodon_base_url),
        ):
            if url is not None:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise SettingsError(f"{name} must be an absolute http(s) URL, not {url!r}")
        if not 0 < self.social_request_timeout_seconds <= MAX_SOCIAL_REQUEST_TIMEOUT:
            raise SettingsError(
                f"SOCIAL_REQUEST_TIMEOUT_SECONDS must be above 0 and at most {MAX_SOCIAL_REQUEST_TIMEOUT:g}"
            )

    @property
    def x_configured(self) -> bool:
        return self.x_api_key is not None and bool(str(self.x_api_key))

    @property
    def mastodon_configured(self) -> bool:
        return bool(self.mastodon_base_url)

    def _check_feeds(self) -> None:
        if self.feeds_max_entries < 1:
            raise SettingsError(f"FEEDS_MAX_ENTRIES must be at least 1, not {self.feeds_max_entries}")
        if not self.feeds_title.strip():
            raise SettingsError("FEEDS_TITLE must not be blank")
        if not LANGUAGE_TAG.fullmatch(self.feeds_language):
            raise SettingsError(
                f"FEEDS_LANGUAGE must be a language tag such as en-US, not {self.feeds_language!r}"
            )
        if self.cap_sender is not None and (not self.cap_sender or _CAP_FORBIDDEN.search(self.cap_sender)):
            raise SettingsError(
                f"CAP_SENDER must be non-empty without spaces, commas, < or &: {self.cap_sender!r}"
            )
        if self.websub_hub is not None:
            hub = urlsplit(self.websub_hub)
            if hub.scheme not in ("http", "https") or not hub.hostname:
                raise SettingsError(f"WEBSUB_HUB must be an absolute http(s) URL, not {self.websub_hub!r}")
            if "feeds" not in self.channels:
                raise SettingsError(
                    "WEBSUB_HUB is set but CHANNELS does not include feeds: there is nothing to ping"
                )
        elif "websub" in self.channels:
            raise SettingsError("CHANNELS includes websub but WEBSUB_HUB is not set")

    def _check_live(self) -> None:
        if urlsplit(self.broadcast_url).scheme not in BROADCAST_SCHEMES:
            raise SettingsError(
                f"BROADCAST_URL must start with one of {', '.join(s + '://' for s in BROADCAST_SCHEMES)}, "
                f"not {self.broadcast_url!r}"
            )
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.broadcast_topic):
            raise SettingsError(
                "BROADCAST_TOPIC must be 1-63 lowercase letters, digits or _, not starting with a digit"
            )
        positive = {
            "LIVE_POLL_SECONDS": self.live_poll_seconds,
            "LIVE_RESUME_MAX_EVENTS": self.live_resume_max_events,
            "LIVE_SEND_BUFFER": self.live_send_buffer,
            "LIVE_PING_SECONDS": self.live_ping_seconds,
            "LIVE_HELLO_SECONDS": self.live_hello_seconds,
            "LIVE_MAX_MESSAGE_BYTES": self.live_max_message_bytes,
            "PUBLIC_TIMELINE_LIMIT": self.public_timeline_limit,
            "MEDIA_MAX_BYTES": self.media_max_bytes,
        }
        for name, value in positive.items():
            if value <= 0:
                raise SettingsError(f"{name} must be positive, not {value}")
        if self.public_cache_seconds < 0:
            raise SettingsError("PUBLIC_CACHE_SECONDS must be 0 or more")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Each field from the environment variable of its name in capitals (or an older name
        it still answers to), parsed by its type; an unset variable keeps the field's default."""
        config = Config(environ=os.environ if environ is None else environ)
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for spec in fields(cls):
            for name in environment_names(spec):
                raw = config(name, default=None)
                if raw is not None:
                    values[spec.name] = _parse(
                        name, raw, spec.metadata.get("parse") or PARSERS[hints[spec.name]]
                    )
                    break
        return cls(**values)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_host(self) -> str:
        """PUBLIC_URL's host name, without port: the authority of feed ids and the CAP sender."""
        return urlsplit(self.public_url).hostname or ""

    @property
    def cap_sender_id(self) -> str:
        return self.cap_sender or self.public_host

    @property
    def signing_key_file_is_default(self) -> bool:
        """SIGNING_KEY_FILE left unset: the development key `console serve` may create."""
        default = next(spec.default for spec in fields(self) if spec.name == "signing_key_file")
        return self.signing_key_file == default

    @property
    def cookies_secure(self) -> bool:
        return self.public_url.startswith("https://")
