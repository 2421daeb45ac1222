"""The vendored front-end files load in a real browser and are the versions the README pins."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from playwright.sync_api import Page
from starlette.testclient import TestClient

from tests.support.live_server import LiveServer

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_vendored_htmx_loads_and_matches_the_pinned_version(served: LiveServer, page: Page) -> None:
    pinned = dict(re.findall(r"\| `htmx\S*\.js` \| `([\w.-]+)` \| ([\d.]+) \|", README))
    assert set(pinned) == {"htmx.org", "htmx-ext-ws"}
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{served.url}/healthz")  # any page of ours: same origin for the scripts
    # Our CSP forbids inline styles, so pages must turn off htmx's injected indicator styles.
    page.evaluate("""() => {
        const meta = document.createElement("meta");
        meta.name = "htmx-config";
        meta.content = JSON.stringify({includeIndicatorStyles: false});
        document.head.appendChild(meta);
    }""")
    page.add_script_tag(url=f"/static/vendor/htmx-{pinned['htmx.org']}.min.js")
    page.add_script_tag(url=f"/static/vendor/htmx-ext-ws-{pinned['htmx-ext-ws']}.min.js")
    assert page.evaluate("htmx.version") == pinned["htmx.org"]
    # the ws extension's init ran: it registered and installed its socket factory
    assert page.evaluate("typeof htmx.createWebSocket") == "function"
    assert errors == []


def test_vendored_leaflet_and_leaflet_draw_load_and_match_the_pinned_versions(
    served: LiveServer, page: Page
) -> None:
    rows = re.findall(r"\| `(leaflet\S*\.js)`[^|]*\| `([\w.-]+)` \| ([\d.]+) \|", README)
    pinned = {package: (path, version) for path, package, version in rows}
    assert set(pinned) == {"leaflet", "leaflet-draw"}
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{served.url}/healthz")
    for path, _ in pinned.values():
        page.add_script_tag(url=f"/static/vendor/{path}")
    assert page.evaluate("L.version") == pinned["leaflet"][1]
    assert page.evaluate("L.drawVersion") == pinned["leaflet-draw"][1]
    for path, _ in pinned.values():  # each package's license is vendored beside it
        folder = path.split("/", 1)[0]
        assert page.request.get(f"{served.url}/static/vendor/{folder}/LICENSE").ok, folder
    assert errors == []


def test_the_favicon_is_served_and_every_kind_of_page_links_it(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.headers["cache-control"] == "public, max-age=86400"
    reserved, kind, count = struct.unpack("<HHH", icon.content[:6])
    assert (reserved, kind, count) == (0, 1, 1)  # an ICO file holding one image...
    width, height, _, _, _, _, size, offset = struct.unpack("<BBBBHHII", icon.content[6:22])
    assert (width, height) == (32, 32)
    assert icon.content[offset : offset + 8] == b"\x89PNG\r\n\x1a\n" and offset + size == len(icon.content)
    for path in ("/", "/login", "/archive", "/verify"):  # public, console and archive layouts
        assert '<link rel="icon" href="/favicon.ico">' in client.get(path).text, path
