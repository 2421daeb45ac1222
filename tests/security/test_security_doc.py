"""SECURITY.md names the test that shows each defence: every one it names must exist, so
the document cannot point at a test that was renamed or removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(test_\w+))?")


def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text()
    current: str | None = None
    named = []
    for match in REFERENCE.finditer(text):
        path, name = match.groups()
        if path:
            current = path
            assert (ROOT / path).exists(), f"SECURITY.md names {path}, which does not exist"
        if name:
            assert current, f"::{name} without a file before it"
            named.append((current, name))
    assert len(named) >= 40
    missing = [f"{path}::{name}" for path, name in named if name not in functions_in(ROOT / path)]
    assert missing == []


def test_security_md_is_linked_from_the_readme() -> None:
    assert "(SECURITY.md)" in (ROOT / "README.md").read_text()
