"""The `console` command (also `python -m console`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from console import logs
from console.db import Database
from console.domain import account_controls, accounts
from console.domain.actors import OPERATOR
from console.domain.errors import DomainError
from console.settings import Settings, SettingsError

if TYPE_CHECKING:
    from console.keyset import KeySet

log = logging.getLogger("console.cli")

Command = Callable[[argparse.Namespace, Settings], int]


# What the drivers say of a table or column the schema lacks (SQLite; PostgreSQL's SQLSTATE 42P01
# undefined_table and 42703 undefined_column).
_NO_SCHEMA_TEXT = ("no such table", "no such column")
_NO_SCHEMA_SQLSTATES = ("42P01", "42703")


def database_problem(exc: SQLAlchemyError, settings: Settings) -> str:
    """What to tell the operator when the database cannot be used: which one (without its
    password), the driver's own words, and, for a schema missing or older than this version,
    what to run. Never a traceback."""
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    said = "; ".join(line.strip() for line in str(original).splitlines() if line.strip())
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in _NO_SCHEMA_SQLSTATES or any(text in said for text in _NO_SCHEMA_TEXT):
        return (
            f"the database at DATABASE_URL ({where}) has no schema, or an older one than this version "
            f"of the console ({said}): run `console db upgrade`"
        )
    return f"cannot use the database at DATABASE_URL ({where}): {said}"


def _database(settings: Settings) -> Database:
    return Database(settings.database_url)


def ensure_first_admin(db: Database, settings: Settings) -> str | None:
    """Create an admin with a one-time password if there is no account yet; return the password."""
    with db.write() as session:
        if accounts.count_users(session):
            return None
        password = accounts.generate_password()
        accounts.create_user(
            session,
            OPERATOR,
            email=settings.admin_email,
            display_name="Administrator",
            role="admin",
            password=password,
            must_change_password=True,
        )
        return password


def _signing_database(settings: Settings) -> Database:
    """The database with the agency's key set, for commands that publish."""
    from console.keyset import KeyFile, KeySetError

    try:
        keys = KeyFile(settings.signing_key_file)
    except KeySetError as exc:
        raise SettingsError(str(exc)) from exc
    return Database(settings.database_url, signer=keys)


def _key_set(settings: Settings) -> KeySet:
    """SIGNING_KEY_FILE's key set; SettingsError (exit 2) when it is missing, unreadable or
    malformed."""
    from console.keyset import KeySet, KeySetError

    try:
        return KeySet.load(settings.signing_key_file)
    except KeySetError as exc:
        raise SettingsError(str(exc)) from exc


def ensure_signing_key(settings: Settings) -> str | None:
    """Create SIGNING_KEY_FILE on first start while it is left at its default (the development
    setup, like the first admin); return the new key's kid. A key file set explicitly is never
    created here: a missing one is an error, so a lost production key is never silently replaced."""
    from console.keyset import create_key_file

    if settings.signing_key_file.exists() or not settings.signing_key_file_is_default:
        return None
    return create_key_file(settings.signing_key_file).current.kid


def listen_problem(host: str, port: int) -> str | None:
    """Why `host`:`port` cannot be listened on (in use, not an address of this machine, a
    privileged port), or None. Asked before `serve` migrates or creates anything, which it would
    otherwise do and print the first admin's password only for uvicorn to fail. Checked as
    uvicorn's asyncio server binds: every address `host` resolves to (a hostname may give IPv4
    and IPv6, or IPv6 only), each socket with SO_REUSEADDR and an IPv6 one IPv6-only, all bound
    at once, then closed."""
    import contextlib
    import socket

    if not 0 <= port <= 65535:  # getaddrinfo would wrap 70000 round to 4464
        return "port must be 0-65535"
    try:
        infos = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
        with contextlib.ExitStack() as bound:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                sock = bound.enter_context(socket.socket(family, kind, proto))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from console.migrate import upgrade
    from console.web.app import create_app, load_key_file, tune_interpreter, uvicorn_options

    if settings.signing_key_file.exists() or not settings.signing_key_file_is_default:
        load_key_file(settings)  # read only: a key file that cannot be used is said first (exit 2)
    problem = listen_problem(args.host, args.port)
    if problem is not None:
        print(f"console: cannot listen on {args.host}:{args.port}: {problem}", file=sys.stderr)
        return 2
    kid = ensure_signing_key(settings)
    if kid:
        print(f"Created the signing key {kid} in {settings.signing_key_file} (keep it secret and backed up)")
    load_key_file(settings)  # a server without its signing key does not start
    db = _database(settings)
    try:
        upgrade(db)
        password = ensure_first_admin(db, settings)
    finally:
        db.dispose()
    if password:
        print("Created the first admin account (the password is shown only this once):")
        print(f"  email:    {settings.admin_email}")
        print(f"  password: {password}")
        sys.stdout.flush()
    app = create_app(settings)
    tune_interpreter()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=False,
        **uvicorn_options(settings),
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from console.migrate import upgrade

    db = _database(settings)
    try:
        upgrade(db)
    finally:
        db.dispose()
    print("database is at the newest schema")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password again: ")
    else:  # two lines on stdin, for scripts
        first, second = sys.stdin.readline().rstrip("\n"), sys.stdin.readline().rstrip("\n")
    if first != second:
        raise DomainError("the two passwords differ")
    return first


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    from console.migrate import schema_revision, upgrade

    password = _read_password()
    db = _database(settings)
    try:
        # Often the first command run against a new database: it gets its schema first.
        if schema_revision(db) is None:
            upgrade(db)
            print("the database had no schema yet: migrated it to the newest")
        with db.write() as session:
            user = accounts.create_user(
                session, OPERATOR, email=args.email, display_name=args.name, role=args.role, password=password
            )
            print(f"created {user.role.value} account {user.email} ({user.display_name})")
    finally:
        db.dispose()
    return 0


def _one_write(settings: Settings, work: Callable[[Session], str]) -> int:
    """Run `work` in one write transaction on a database opened for it; print what it says."""
    db = _database(settings)
    try:
        with db.write() as session:
            said = work(session)
    finally:
        db.dispose()
    print(said)
    return 0


def cmd_users_disable(args: argparse.Namespace, settings: Settings) -> int:
    def work(session: Session) -> str:
        user = account_controls.disable_user(session, OPERATOR, email=args.email)
        return f"disabled {user.email}: its sessions are ended and its API tokens revoked"

    return _one_write(settings, work)


def cmd_users_enable(args: argparse.Namespace, settings: Settings) -> int:
    def work(session: Session) -> str:
        user = account_controls.enable_user(session, OPERATOR, email=args.email)
        return f"enabled {user.email}: it can sign in again (issue new API tokens if needed)"

    return _one_write(settings, work)


def cmd_users_set_role(args: argparse.Namespace, settings: Settings) -> int:
    def work(session: Session) -> str:
        user = account_controls.set_role(session, OPERATOR, email=args.email, role=args.role)
        return f"{user.email} is now {user.role.value}"

    return _one_write(settings, work)


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        with db.write() as session:
            issued = accounts.create_token(session, OPERATOR, email=args.email, name=args.name)
            user = issued.token.user
    finally:
        db.dispose()
    print(f"token for {user.email} ({user.role.value}); it is shown only this once:")
    print(issued.secret)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from console.channels.registry import build_channels
    from console.dispatcher import Dispatcher
    from console.live.bus import LiveBus
    from console.migrate import schema_problem, schema_revision

    db = _database(settings)
    try:
        problem = schema_problem(schema_revision(db))
    except SQLAlchemyError:  # down for now: the dispatcher retries until it answers
        problem = None
    if problem is not None:  # it would fail every poll, forever: a missing schema does not come back
        db.dispose()
        print(f"console: the outbox worker cannot start: {problem}", file=sys.stderr)
        return 1
    bus = LiveBus.from_settings(settings)  # the live channel publishes to the web processes through it
    channels = build_channels(settings, db, bus)
    dispatcher = Dispatcher.from_settings(settings, db, channels)

    async def work() -> None:
        # A restart's SIGTERM, like Ctrl-C, lets the deliveries under way be recorded: cut off,
        # each would hold back its channel until its lease ran out.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("outbox worker delivering %s", ", ".join(channels) or "nothing (CHANNELS is empty)")
        running = asyncio.create_task(dispatcher.drain() if args.once else dispatcher.run())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not running.done():
                log.info("outbox worker stopping: recording the deliveries under way")
                for signum in (signal.SIGTERM, signal.SIGINT):  # a second one: stop at once
                    loop.add_signal_handler(signum, running.cancel)
                try:
                    recorded = await dispatcher.finish(running)
                except asyncio.CancelledError:
                    if not running.cancelled():
                        raise
                    recorded = False
                if not recorded:
                    # A delivery's thread cannot be stopped, and the interpreter would wait for it
                    # past the platform's kill: end now, as a crash would (the leases cover it).
                    log.warning(
                        "outbox worker stopped at once: deliveries under way are left to their leases"
                    )
                    logging.shutdown()
                    os._exit(0)
            else:
                running.result()
        finally:
            stopping.cancel()
            await bus.close()

    try:
        asyncio.run(work())
    finally:
        db.dispose()
    log.info("outbox worker stopped")
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from console.domain.audit_log import check_kept_head
    from console.domain.integrity import verify

    keys = _audit_keys(args.keys, settings)
    digest, size, head_problems = _kept_head(args.against, keys) if args.against else (None, None, [])
    db = _database(settings)
    try:
        with db.read() as session:
            report = verify(session, keys)
            kept = check_kept_head(session, digest, report.chain) if digest else None
    finally:
        db.dispose()
    print(report.describe(), file=sys.stdout if report.ok else sys.stderr)
    if keys is None:
        print(
            f"note: signatures not checked: no key set at SIGNING_KEY_FILE ({settings.signing_key_file});"
            " pass --keys keys.json",
            file=sys.stderr,
        )
    proven = kept is None or (kept.proven and (size is None or kept.seq == size))
    if kept is not None:
        print(kept.describe(), file=sys.stdout if kept.proven else sys.stderr)
        if kept.proven and size is not None and kept.seq != size:
            print(
                f"the signed head says the log had {size} events at that hash, not {kept.seq}",
                file=sys.stderr,
            )
    # last, so that a head whose hash is in the chain but whose signature fails ends on its failure
    for problem in head_problems:
        print(f"FAILED: signed head: {problem}", file=sys.stderr)
    return 0 if report.ok and proven and not head_problems else 1


def _audit_keys(given: str | None, settings: Settings) -> KeySet | None:
    """The keys to check signatures with: `--keys` (a keys.json or a key-set PEM), else
    SIGNING_KEY_FILE's; None when neither is given nor there."""
    from console.keyset import KeySetError
    from console.verification import load_keys

    if given:
        try:
            return load_keys(Path(given))
        except (OSError, UnicodeDecodeError, ValueError, KeySetError) as exc:
            raise DomainError(f"--keys {given}: {exc}") from exc
    if not settings.signing_key_file.exists():
        return None  # an auditor's machine, without the agency's key: the chain alone is checked
    return _key_set(settings)


def _kept_head(value: str, keys: KeySet | None) -> tuple[str, int | None, list[str]]:
    """A head hash as given, or a signed head file (checked against `keys`)."""
    import json

    from console.domain.audit_log import valid_head_hash
    from console.signed_head import check_head

    if valid_head_hash(value.strip().lower()):
        return value.strip().lower(), None, []
    try:
        document = json.loads(Path(value).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomainError(f"--against {value}: {exc}") from exc
    if keys is None:
        raise DomainError(f"--against {value}: a signed head is checked with the agency's keys: pass --keys")
    problems = check_head(document, keys)
    digest = str(document.get("hash", "")).lower() if isinstance(document, dict) else ""
    if not valid_head_hash(digest):
        return "0" * 64, None, problems or ["it holds no 64-character hash"]
    size = document.get("size")
    return digest, size if isinstance(size, int) else None, problems


def _head_argument(value: str) -> str:
    from console.domain.audit_log import valid_head_hash

    if not valid_head_hash(value.strip().lower()) and not Path(value).is_file():
        raise argparse.ArgumentTypeError(
            "must be a 64-character SHA-256 hex digest (an export's audit_head.hash) "
            "or a signed head file (/audit/head.json)"
        )
    return value


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from console.keyset import KeySetError, create_key_file

    if args.cap:
        from console.feeds.cap_signing import create_test_certificate

        try:
            create_test_certificate(settings)
        except FileExistsError as exc:
            print(f"console: {exc}", file=sys.stderr)
            return 1
        print(
            f"wrote a self-signed CAP signing key to {settings.cap_signing_key} (mode 0600) "
            f"and its certificate to {settings.cap_signing_cert}"
        )
        return 0
    try:
        keys = create_key_file(settings.signing_key_file)
    except KeySetError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 1
    print(f"created signing key in {settings.signing_key_file} (mode 0600); its kid:")
    print(keys.current.kid)
    return 0


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from console.domain import audit
    from console.keyset import stage_key_set

    keys = _key_set(settings).rotated()
    retired = keys.keys[1]
    # The audit event and the new file together. The new file is written in full beside the old
    # one first (a full disk stops here, before anything is recorded), the event is committed,
    # and only then does the new file take the old one's place: a database that cannot write or
    # commit the event leaves the key as it was.
    try:
        staged = stage_key_set(settings.signing_key_file, keys)
    except OSError as exc:
        print(
            f"console: the key was not rotated: SIGNING_KEY_FILE cannot be written ({exc})", file=sys.stderr
        )
        return 1
    db = _database(settings)
    try:
        with db.write() as session:
            audit.record(
                session,
                OPERATOR,
                "signing_key.rotated",
                f"signing key {keys.current.kid}",
                data={"retired": retired.kid, "current": keys.current.kid},
            )
    except SQLAlchemyError as exc:
        staged.unlink(missing_ok=True)
        print(
            f"console: the key was not rotated: its audit event cannot be written: "
            f"{database_problem(exc, settings)}",
            file=sys.stderr,
        )
        return 1
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    finally:
        db.dispose()
    try:
        os.replace(staged, settings.signing_key_file)
    except OSError as exc:  # the same directory: hardly ever; the event is recorded, so say so
        print(
            f"console: the rotation to {keys.current.kid} is recorded in the audit trail, but the new key "
            f"set could not replace SIGNING_KEY_FILE ({exc}); it is in {staged}: move it over "
            f"{settings.signing_key_file}",
            file=sys.stderr,
        )
        return 1
    print(f"retired key {retired.kid} (kept for verification); the new signing key's kid:")
    print(keys.current.kid)
    return 0


def cmd_push_keys(args: argparse.Namespace, settings: Settings) -> int:
    from console.alerts.web_push import application_server_key, new_private_key

    private_key = new_private_key()
    print("a new VAPID key pair for Web Push alerts; set these (keep the private key secret):")
    print(f"VAPID_PRIVATE_KEY={private_key}")
    print(f"VAPID_SUBJECT=mailto:{settings.mail_from}")
    print(f"# its public key (served at /push/key): {application_server_key(private_key)}")
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from console.keyset import KeySet, KeySetError
    from console.verification import load_keys, verify_paths

    paths = [Path(path) for path in args.files]
    own = [path / "keys.json" for path in paths if (path / "keys.json").is_file()]
    try:
        if args.keys:
            keys: KeySet = load_keys(Path(args.keys))
        elif settings.signing_key_file.is_file() or len(own) != 1:
            keys = KeySet.load(settings.signing_key_file)
        else:
            keys = load_keys(own[0])
            print(
                f"note: verifying with the export's own {own[0]}; compare its kids with the agency's "
                "published keys (/.well-known/incident-console/keys.json), or pass --keys"
            )
    except (OSError, ValueError, KeySetError) as exc:
        print(
            f"console: no key set to verify with ({exc}); pass --keys keys.json "
            "(from /.well-known/incident-console/keys.json)",
            file=sys.stderr,
        )
        return 2
    from console.feeds.cap_signing import cap_checker

    certificate = Path(args.cap_cert) if args.cap_cert else settings.cap_signing_cert
    try:
        cap_check = cap_checker(certificate)
    except (OSError, ValueError) as exc:
        print(f"console: cannot read the CAP certificate {certificate}: {exc}", file=sys.stderr)
        return 2
    if cap_check is None and any(path.suffix == ".xml" for path in paths):
        print("console: checking CAP files needs the agency's certificate: pass --cap-cert", file=sys.stderr)
        return 2
    report = verify_paths(paths, keys, cap_check=cap_check)
    for problem in report.problems:
        print(f"FAILED {problem}", file=sys.stderr)
    if not report.problems and not report.ok:
        print("FAILED: nothing signed was found to verify", file=sys.stderr)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    if report.ok:
        print("every content hash and signature verified")
    return 0 if report.ok else 1


def cmd_archive_export(args: argparse.Namespace, settings: Settings) -> int:
    from console.archive_snapshot import SnapshotError, export_snapshot

    _key_set(settings)  # the snapshot is signed: a key file that cannot be used is a setting error
    db = _database(settings)
    try:
        summary = export_snapshot(db, settings, Path(args.directory))
    except SnapshotError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(summary.describe())
    return 0


def cmd_feeds_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from console.feeds.writer import FeedFiles

    db = _database(settings)
    try:
        report = FeedFiles(settings).rebuild(db)
    finally:
        db.dispose()
    written, unchanged = set(report.written), set(report.unchanged) - set(report.written)
    print(f"feeds rebuilt in {settings.feeds_dir}: {len(written)} files written, {len(unchanged)} unchanged")
    if "feeds" not in settings.channels:
        print("note: CHANNELS does not include feeds, so publishing will not keep these files up to date")
    return 0


def _hours(value: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of hours") from None
    if not hours >= 0 or hours == float("inf"):
        raise argparse.ArgumentTypeError("must be 0 or more hours")
    return hours


def cmd_media_prune(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    from console.domain.media_prune import prune_uploads
    from console.media import store
    from console.models import utcnow

    db = _database(settings)
    try:
        with db.write() as session:
            pruned = prune_uploads(
                session, OPERATOR, older_than=timedelta(hours=args.older_than), now=utcnow()
            )
    finally:
        db.dispose()
    # The rows are gone (committed): now their files, which nothing names any more.
    for upload in pruned.uploads:
        gone = [name for name in upload.files if store.remove(settings.media_dir, name)]
        missing = len(upload.files) - len(gone)
        print(
            f"removed upload {upload.media_id} (uploaded {upload.uploaded_at.isoformat()}): "
            + (", ".join(gone) or "no files")
            + (f"; {missing} already missing from MEDIA_DIR" if missing else "")
        )
    print(
        f"{len(pruned.uploads)} uploads never attached and older than {args.older_than:g} hours removed "
        f"({len(pruned.files)} files)"
    )
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from console.demo import load_demo

    kid = ensure_signing_key(settings)  # `make demo` before the first `make run`
    if kid:
        print(f"Created the signing key {kid} in {settings.signing_key_file} (keep it secret and backed up)")
    db = _signing_database(settings)
    try:
        slug = load_demo(db, settings)
    finally:
        db.dispose()
    print(f"demo incident published: {settings.public_url}/incidents/{slug}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="console", description="Crisis communications console")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate the database and serve the console")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=cmd_serve)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply all migrations").set_defaults(run=cmd_db_upgrade)

    users = sub.add_parser("users", help="accounts").add_subparsers(dest="users_command", required=True)
    create_user = users.add_parser("create", help="create an account (password from a prompt or stdin)")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--role", required=True, choices=["admin", "pio", "reviewer"])
    create_user.add_argument("--name", help="display name shown on published updates")
    create_user.set_defaults(run=cmd_users_create)
    disable_user = users.add_parser(
        "disable", help="shut an account off: sign-in refused, every session ended, every API token revoked"
    )
    disable_user.add_argument("--email", required=True)
    disable_user.set_defaults(run=cmd_users_disable)
    enable_user = users.add_parser("enable", help="let a disabled account sign in again")
    enable_user.add_argument("--email", required=True)
    enable_user.set_defaults(run=cmd_users_enable)
    set_role = users.add_parser("set-role", help="change an account's role")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", required=True, choices=["admin", "pio", "reviewer"])
    set_role.set_defaults(run=cmd_users_set_role)

    tokens = sub.add_parser("tokens", help="API tokens").add_subparsers(dest="tokens_command", required=True)
    create_token = tokens.add_parser("create", help="create an API token (printed alone on the last line)")
    create_token.add_argument("--email", required=True)
    create_token.add_argument("--name", help="what the token is for")
    create_token.set_defaults(run=cmd_tokens_create)

    worker = sub.add_parser("worker", help="run the outbox dispatcher alone")
    worker.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    worker.set_defaults(run=cmd_worker)

    audit = sub.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="verify the hash chain and every version")
    verify.add_argument(
        "--against",
        metavar="HEAD",
        type=_head_argument,
        help="also check that this published chain head is still in the chain: a hash (from an export or "
        "/archive) or a signed head file (/audit/head.json), whose signature is checked too",
    )
    verify.add_argument(
        "--keys",
        metavar="KEYS",
        help="the keys to check signatures with: a keys.json (JWKS, /.well-known/incident-console/keys.json) "
        "or a key-set PEM; default SIGNING_KEY_FILE",
    )
    verify.set_defaults(run=cmd_audit_verify)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="keys_command", required=True)
    create_keys = keys.add_parser(
        "create", help="write a new signing key set to SIGNING_KEY_FILE (mode 0600) and print its kid"
    )
    create_keys.add_argument(
        "--cap",
        action="store_true",
        help="instead, write a self-signed CAP signing key and certificate to CAP_SIGNING_KEY and "
        "CAP_SIGNING_CERT, for testing",
    )
    create_keys.set_defaults(run=cmd_keys_create)
    keys.add_parser(
        "rotate", help="retire the signing key (kept for verification) and start a new one; prints its kid"
    ).set_defaults(run=cmd_keys_rotate)

    check = sub.add_parser(
        "verify",
        help="check every content hash and signature in exported files, offline (exit 1 names what fails)",
    )
    check.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="a JSON record, archive.jsonl, history.csv, signed head, "
        "CAP file, or a `console archive export` folder",
    )
    check.add_argument(
        "--keys",
        metavar="KEYS",
        help="the key set: keys.json (JWKS) or a key-set PEM file; default SIGNING_KEY_FILE",
    )
    check.add_argument(
        "--cap-cert",
        metavar="PEM",
        help="the certificate CAP files are signed with (/.well-known/incident-console/cap-signing.pem); "
        "default CAP_SIGNING_CERT",
    )
    check.set_defaults(run=cmd_verify)

    archive = sub.add_parser("archive", help="public archive").add_subparsers(
        dest="archive_command", required=True
    )
    export = archive.add_parser(
        "export", help="write a static HTML + JSON snapshot of the archive that opens offline"
    )
    export.add_argument("directory", metavar="DIR", help="a new or empty directory")
    export.set_defaults(run=cmd_archive_export)

    feeds = sub.add_parser("feeds", help="Atom/RSS feeds and CAP files").add_subparsers(
        dest="feeds_command", required=True
    )
    feeds.add_parser("rebuild", help="regenerate every feed and CAP file in FEEDS_DIR").set_defaults(
        run=cmd_feeds_rebuild
    )

    push = sub.add_parser("push", help="Web Push alerts").add_subparsers(dest="push_command", required=True)
    push.add_parser("keys", help="create a VAPID key pair and print the settings to set").set_defaults(
        run=cmd_push_keys
    )

    media = sub.add_parser("media", help="uploaded images").add_subparsers(
        dest="media_command", required=True
    )
    prune = media.add_parser(
        "prune",
        help="remove uploads that no version shows and that are older than --older-than hours, "
        "with their files; prints what it removed",
    )
    prune.add_argument(
        "--older-than",
        metavar="HOURS",
        type=_hours,
        default=24,
        help="the grace period for an upload not yet attached (default 24)",
    )
    prune.set_defaults(run=cmd_media_prune)

    sub.add_parser("demo", help="publish a realistic sample incident").set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure()
    try:
        settings = Settings.from_environ()
    except SettingsError as exc:
        print(f"console: setting error: {exc}", file=sys.stderr)
        return 2
    try:
        command: Command = args.run
        return command(args, settings)
    except SettingsError as exc:
        print(f"console: setting error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"console: {exc.message}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # a database down, unreachable or never migrated
        print(f"console: {database_problem(exc, settings)}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder that cannot be written
        print(f"console: {exc}", file=sys.stderr)
        return 1
