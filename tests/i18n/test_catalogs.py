"""The gettext catalogs of the public pages: they compile, they hold every string the
templates use, and Spanish is complete (nothing empty, nothing fuzzy)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from console import i18n

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ("en", "es")  # the catalogs that must translate every string


def catalog(lang: str) -> Catalog:
    with i18n.catalog_path(lang).open("rb") as po:
        return read_po(po)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every msgid the templates (and the marked Python) use, extracted as `make messages` does."""
    pot = tmp_path_factory.mktemp("catalogs") / "messages.pot"
    logging.getLogger("babel").setLevel(logging.WARNING)
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)
        CommandLineInterface().run(
            ["pybabel", "-q", "extract", "-F", "pyproject.toml", "-k", "N_", "-o", str(pot), "."]
        )
    finally:
        os.chdir(cwd)
    with pot.open("rb") as file:
        ids = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(file)
            if message.id
        }
    assert len(ids) > 40, "extraction found the templates"
    return ids


def test_english_and_spanish_catalogs_exist() -> None:
    assert set(COMPLETE) <= set(i18n.available_catalogs())


@pytest.mark.parametrize("lang", COMPLETE)
def test_catalog_compiles_without_errors(lang: str) -> None:
    problems = list(catalog(lang).check())  # placeholders that do not match the msgid, and so on
    assert problems == []
    translations = i18n.compile_catalog(i18n.catalog_path(lang))
    assert (
        translations.gettext("Incident updates")
        == {"en": "Incident updates", "es": "Actualizaciones de incidentes"}[lang]
    )


@pytest.mark.parametrize("lang", COMPLETE)
def test_every_extracted_string_is_translated(lang: str, extracted: set[str]) -> None:
    messages = {
        message.id if isinstance(message.id, str) else message.id[0]: message
        for message in catalog(lang)
        if message.id
    }
    missing = sorted(extracted - set(messages))
    assert missing == [], f"run `make messages` and translate: {missing}"
    empty = sorted(
        key
        for key in extracted
        if not (messages[key].string if isinstance(messages[key].string, str) else all(messages[key].string))
    )
    assert empty == []
    fuzzy = sorted(key for key in extracted if messages[key].fuzzy)
    assert fuzzy == []


def test_a_page_language_never_leaks_into_another_rendering() -> None:
    assert i18n.gettext("Retracted") == "Retracted"
    with i18n.in_language("es"):
        assert i18n.gettext("Retracted") == "Retirada"
        assert i18n.label("PRELIMINARY") == "PRELIMINAR"
        assert i18n.language_name("en") == "inglés"
        with i18n.in_language("vi"):  # no catalog: the English source strings
            assert i18n.gettext("Retracted") == "Retracted"
        assert i18n.ngettext("%(num)d update", "%(num)d updates", 2) == "%(num)d actualizaciones"
    assert i18n.gettext("Retracted") == "Retracted"
    assert i18n.own_name("es") == "Español"
