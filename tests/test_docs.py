"""Every setting, command and endpoint is documented in the README: scripts outside this
repository rely on them, so an undocumented one is a bug."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

from starlette.routing import Mount, Route, Router

from console.cli import build_parser
from console.settings import Settings, environment_names
from console.web.app import routes

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def setting_names() -> list[str]:
    return [name for spec in fields(Settings) for name in environment_names(spec)]


def cli_commands(parser: argparse.ArgumentParser, prefix: str = "console") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(cli_commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"])
    return found


def http_paths() -> list[str]:
    paths = []
    for route in routes():
        if isinstance(route, Route):
            paths.append(route.path)
        elif isinstance(route, Mount) and isinstance(route.app, Router):
            paths.extend(route.path + sub.path for sub in route.app.routes if isinstance(sub, Route))
    return paths


def test_every_setting_is_documented() -> None:
    names = setting_names()
    assert "DATABASE_URL" in names and len(names) > 5
    assert [n for n in names if f"`{n}`" not in README] == []


def test_every_cli_command_is_documented() -> None:
    commands = cli_commands(build_parser())
    assert "console audit verify" in commands
    assert [c for c in commands if f"`{c}" not in README] == []


def test_every_endpoint_is_documented() -> None:
    paths = http_paths()
    assert "/api/v1/incidents/{slug}/updates" in paths
    readable = [re.sub(r"\{(\w+):\w+\}", r"{\1}", p) for p in paths]
    assert [p for p in readable if p not in README] == []
