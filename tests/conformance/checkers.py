"""The third-party checkers, pinned in package.json beside this file: the Nu HTML Checker
(vnu.jar, run on Debian's Java) and axe-core (injected into a page through Playwright).

`make tests/conformance/node_modules` installs them (`make test` does it first)."""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
VNU_JAR = HERE / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
JAVA = "/usr/bin/java"


def vnu_errors(documents: Mapping[str, str], directory: Path) -> dict[str, list[str]]:
    """Every document checked in one Java process (it takes seconds to start); the errors of
    each, by the document's name. Every name gets an entry, empty when the document is valid."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {}
    for number, (name, html) in enumerate(documents.items()):
        path = directory / f"{number:03d}.html"
        path.write_text(html, encoding="utf-8")
        files[path.resolve()] = name
    run = subprocess.run(
        [JAVA, "-jar", str(VNU_JAR), "--format", "json", "--errors-only", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report: dict[str, Any] = json.loads(run.stderr)  # vnu writes its report on stderr
    errors: dict[str, list[str]] = defaultdict(list)
    for message in report["messages"]:
        where = Path(unquote(urlsplit(message.get("url", "")).path)).resolve()
        name = files.get(where, message.get("url", "?"))
        line = message.get("lastLine", "?")
        errors[name].append(f"line {line}: {message['message']} [{message.get('extract', '').strip()}]")
    unknown = set(errors) - set(documents)
    assert not unknown, f"vnu reported on no document it was given: {dict(errors)}"
    return {name: errors.get(name, []) for name in documents}


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations on the page as loaded, under the page's own CSP: Playwright's
    `evaluate` runs the script through the DevTools protocol, not as a page <script>."""
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
            v => ({id: v.id, impact: v.impact, help: v.help,
                   targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}" for v in violations]
