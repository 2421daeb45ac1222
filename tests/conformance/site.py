"""A served site holding a record with every kind of page content, and every HTML document it
makes: public pages, console pages (signed in), live frames and the offline snapshot."""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from console.archive_snapshot import export_snapshot
from console.db import Database
from console.keyset import KeyFile, create_key_file
from console.settings import Settings
from tests.conftest import KEYS_SINCE, POSTGRES_URL, empty_postgres
from tests.live.support import api, correct, new_incident, publish, receive, retract, subscribe
from tests.support.factories import PASSWORD, make_token, make_user
from tests.support.live_server import LiveServer, serve
from tests.support.tiles import TileServer

ADMIN = "admin@example.org"
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
# A live frame is checked as the body of the smallest valid document.
FRAGMENT_DOCUMENT = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Live frame</title></head>'
    "<body>{}</body></html>"
)


class _TopLevel(HTMLParser):
    """Where each top-level element of a fragment starts, and its tag."""

    VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "source", "wbr", "col", "area", "base"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.starts: list[tuple[tuple[int, int], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.starts.append((self.getpos(), tag))
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1


def in_context(frame: str) -> str:
    """The frame with each top-level list item inside a list: htmx swaps every top-level
    element of a frame in place of the page's element with its id, and a list item's is in a
    list. Everything else is checked as it comes."""
    parser = _TopLevel()
    parser.feed(frame)
    parser.close()
    lines = frame.splitlines(keepends=True)
    offsets = [sum(len(line) for line in lines[: row - 1]) + column for (row, column), _ in parser.starts]
    pieces = [frame[: offsets[0]] if offsets else frame]
    for (start, end), (_, tag) in zip(
        zip(offsets, [*offsets[1:], len(frame)], strict=True), parser.starts, strict=True
    ):
        piece = frame[start:end]
        pieces.append(f"<ol>{piece}</ol>" if tag == "li" else piece)
    return "".join(pieces)


@dataclass
class Record:
    active: str  # slugs
    resolved: str
    update_ids: list[int]  # the active incident's: corrected, confirmed, retracted, plain
    rumor_id: int
    frame_count: int = 0


@dataclass
class Site:
    server: LiveServer
    record: Record
    cookies: CookieJar  # the admin's signed-in session
    token: str  # a PIO's API token, to publish while a page is open
    documents: dict[str, str] = field(default_factory=dict)  # name -> HTML
    urls: dict[str, str] = field(default_factory=dict)  # page name -> URL (those a browser can open)
    snapshot: Path | None = None


def public_paths(record: Record) -> list[str]:
    a, b = record.active, record.resolved
    return [
        "/",
        "/?lang=es",
        f"/incidents/{a}",
        f"/incidents/{a}?lang=es",
        f"/incidents/{a}?lang=vi",  # no catalog: English words, Vietnamese texts marked as such
        f"/incidents/{b}",
        f"/incidents/{a}/history",
        f"/incidents/{a}/history?lang=es",
        f"/incidents/{a}/history?lang=vi",
        f"/incidents/{b}/history",
        "/archive",
        "/archive?q=gas",
        "/archive?from=yesterday&category=nonsense",  # the form with its errors
        "/incidents/no-such-incident/history",
        "/corrections",
        "/rumors",
        "/rumors?lang=es",
        "/verify",
        "/verify?lang=es",
        "/login",
        "/incidents/no-such-incident",
    ]


def console_paths(record: Record) -> list[str]:
    a, update = record.active, record.update_ids[0]
    return [
        "/console",
        "/console/incidents",
        f"/console/incidents/{a}",
        f"/console/incidents/{record.resolved}",
        f"/console/incidents/{a}/deliveries",
        f"/console/updates/{update}",
        f"/console/updates/{update}/deliveries",
        *(f"/console/updates/{other}" for other in record.update_ids[1:]),
        "/console/rumors",
        "/console/audit",
        "/console/admin",
        "/console/password",
    ]


SNAPSHOT_PAGES = ("index.html", "corrections.html")


def site_settings(template: str, directory: Path) -> Settings:
    if POSTGRES_URL:
        empty_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        shutil.copyfile(template, directory / "console.db")
        url = f"sqlite:///{directory / 'console.db'}"
    keys = directory / "keys" / "signing-key.pem"
    keys.parent.mkdir()
    create_key_file(keys, now=KEYS_SINCE)
    return Settings(
        database_url=url,
        signing_key_file=keys,
        archive_dir=directory / "archive",
        feeds_dir=directory / "feeds",
        languages=("en", "es", "vi"),
        outbox_poll_seconds=0.05,
    )


def seed(base: str, token: str) -> Record:
    """Two incidents with four updates each (so both show an `update-4`), corrections in both
    (so the corrections log lists two `update 1, version 2`), a confirmation, a retraction,
    translations, rumor responses, one corrected, and the active incident's "What to do now"."""
    active = new_incident(base, token, "Gas leak on Elm St")
    resolved = new_incident(base, token, "Water main break")
    first: list[int] = []
    for slug in (active, resolved):
        ids = [
            publish(base, token, slug, "Residents of Elm St should leave now.", headline="Evacuate")["id"],
            publish(base, token, slug, "Unconfirmed: a second leak on Oak St.", preliminary=True)["id"],
            publish(
                base,
                token,
                slug,
                "Elm St is closed to traffic.",
                translations=[{"lang": "es", "body": "La calle Elm está cerrada."}],
            )["id"],
            publish(
                base,
                token,
                slug,
                "Shelter open at the Lincoln school gym.",
                translations=[{"lang": "vi", "body": "Nơi trú ẩn mở tại phòng thể dục trường Lincoln."}],
            )["id"],
        ]
        correct(base, token, ids[0], "Residents of Elm St and Pine St should leave now.", "Pine St too", 1)
        api(base, token, f"/updates/{ids[1]}/confirmation", {"corrects_version": 1})
        retract(base, token, ids[2], "Sent by mistake", 1)
        first = first or ids
    api(base, token, f"/incidents/{resolved}/resolve", {"message": "All clear: the water main is repaired."})
    api(base, token, f"/incidents/{active}/pin", {"seq": 4})  # "What to do now" on `/` and its page
    square = [[38.90, -77.04], [38.90, -77.00], [38.93, -77.00], [38.93, -77.04], [38.90, -77.04]]
    area = {
        "description": "Elm St to Oak St",
        "polygons": [square],
        "circles": [{"lat": 38.9, "lon": -77, "radius_km": 1}],
    }
    api(
        base,
        token,
        f"/incidents/{active}/details",
        {"area": area, "reason": "Area mapped", "corrects_version": 1},
    )
    rumor = api(
        base,
        token,
        "/rumors",
        {
            "claim": "The water is poisoned",
            "verdict": "False",
            "facts": "Tap water is safe to drink.",
            "seen_at": "X, widely shared",
            "incident": active,
            "translations": [{"lang": "es", "claim": "El agua está envenenada", "facts": "Es segura."}],
        },
    )
    api(
        base,
        token,
        f"/rumors/{rumor['id']}/corrections",
        {
            "claim": "The water is poisoned",
            "verdict": "Unconfirmed",
            "facts": "Tests are under way.",
            "seen_at": "X, widely shared",
            "reason": "Tests not finished",
            "corrects_version": 1,
            "translations": [
                {"lang": "es", "claim": "El agua está envenenada", "facts": "Análisis en curso."}
            ],
        },
    )
    return Record(active=active, resolved=resolved, update_ids=first, rumor_id=rumor["id"])


def get(
    opener: urllib.request.OpenerDirector, url: str, form: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Status, content type and text, whatever the status."""
    data = None if form is None else urllib.parse.urlencode(form).encode()
    try:
        with opener.open(url, data=data, timeout=30) as answer:
            return answer.status, answer.headers["content-type"], answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["content-type"], error.read().decode()


def sign_in(base: str) -> CookieJar:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    _, _, form = get(opener, f"{base}/login")
    token = TOKEN_FIELD.search(form)
    assert token is not None
    status, _, page = get(
        opener, f"{base}/login", {"email": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert status == 200 and "/console" in page, page  # redirected to the dashboard
    return jar


def fetch(site: Site, paths: list[str], *, signed_in: bool) -> None:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(site.cookies if signed_in else CookieJar())
    )
    for path in paths:
        status, content_type, text = get(opener, site.server.url + path)
        assert status in (200, 400, 404, 422), (path, status)
        assert content_type.startswith("text/html"), path
        site.documents[path] = text
        site.urls[path] = site.server.url + path
    if not signed_in:
        status, _, text = get(
            opener, f"{site.server.url}/verify", {"text": "Residents of Elm St should leave now."}
        )
        assert status == 200, text
        site.documents["POST /verify"] = text
        status, _, text = get(opener, f"{site.server.url}/verify", {"text": " "})
        assert status == 400, text
        site.documents["POST /verify (empty)"] = text
        _, _, form = get(opener, f"{site.server.url}/login")
        token = TOKEN_FIELD.search(form)
        assert token is not None
        login = {"email": ADMIN, "password": "not the password", "csrf_token": token.group(1)}
        status, _, text = get(opener, f"{site.server.url}/login", login)
        assert status == 400 and "not right" in text, status
        site.documents["POST /login (wrong password)"] = text


def live_frames(site: Site) -> None:
    """Every frame the live pages are pushed, replayed from the start of the stream."""
    for incident in (None, site.record.active):
        with subscribe(site.server.ws_url, 0, incident=incident) as connection:
            frames = receive(connection, 1)
            while True:
                try:
                    frames += receive(connection, 1, timeout=1.5)
                except TimeoutError:
                    break
        for number, frame in enumerate(frames):
            site.documents[f"live frame {incident or 'index'} #{number}"] = FRAGMENT_DOCUMENT.format(
                in_context(frame.html)
            )
        site.record.frame_count += len(frames)


def snapshot(site: Site, directory: Path) -> None:
    settings = site.server.settings
    db = Database(settings.database_url, signer=KeyFile(settings.signing_key_file))
    try:
        export_snapshot(db, settings, directory)
    finally:
        db.dispose()
    site.snapshot = directory
    for page in sorted(directory.rglob("*.html")):
        name = f"snapshot {page.relative_to(directory)}"
        site.documents[name] = page.read_text(encoding="utf-8")
        site.urls[name] = page.as_uri()


@contextmanager
def seeded_site(template: str, directory: Path, **overrides: Any) -> Iterator[Site]:
    # The console's drawing map loads its tiles from here, never from the internet.
    with TileServer() as tiles:
        overrides = {"map_tiles_url": tiles.tiles_url, **overrides}
        yield from _seeded_site(template, directory, **overrides)


def _seeded_site(template: str, directory: Path, **overrides: Any) -> Iterator[Site]:
    settings = replace(site_settings(template, directory), **overrides)
    db = Database(settings.database_url)
    try:
        token = make_token(db, "pio")
        make_user(db, "admin", ADMIN, "Admin Person")
    finally:
        db.dispose()
    with serve(settings) as server:
        record = seed(server.url, token)
        site = Site(server, record, sign_in(server.url), token)
        fetch(site, public_paths(record), signed_in=False)
        fetch(site, console_paths(record), signed_in=True)
        live_frames(site)
        snapshot(site, directory / "snapshot")
        yield site
