"""Jinja2 templates where one file renders both a page and its fragments (named blocks)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments.starlette import Jinja2Blocks
from markupsafe import Markup

from console.domain import wording
from console.domain.diff import Change, word_diff
from console.feeds.paths import alternate_links
from console.html import paragraphs
from console.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

Templates = Jinja2Blocks


def diff_html(old: str | None, new: str | None) -> Markup:
    """A word-level diff marked with <del> and <ins>, readable without colour."""
    tags = {
        Change.SAME: Markup("{}"),
        Change.REMOVED: Markup("<del>{}</del>"),
        Change.ADDED: Markup("<ins>{}</ins>"),
    }
    return Markup("").join(tags[s.change].format(s.text) for s in word_diff(old or "", new or ""))


def make_templates(settings: Settings) -> Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    zone = settings.zone

    def in_zone(moment: datetime | str | None) -> datetime | None:
        # JSON-shaped views carry ISO strings; ORM rows carry datetimes.
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(zone) if moment else None

    def local(moment: datetime | str | None, fmt: str = "%H:%M") -> str:
        shown = in_zone(moment)
        return shown.strftime(fmt) if shown else ""

    def iso_local(moment: datetime | str | None) -> str:
        shown = in_zone(moment)
        return shown.isoformat() if shown else ""

    env.filters["local"] = local
    env.filters["paragraphs"] = paragraphs
    env.globals["diff_html"] = diff_html
    env.globals["alternate_links"] = alternate_links
    env.filters["iso_local"] = iso_local
    env.globals["labels"] = wording.labels
    env.globals["settings"] = settings
    return Jinja2Blocks(env=env)
