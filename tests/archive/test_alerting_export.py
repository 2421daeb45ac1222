"""A version's CAP fields, instruction and WEA texts (issue 17) are in every export and covered
by its content hash: `console verify` recomputes it from the JSON record and from history.csv,
and a changed instruction fails."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.cli import main
from console.db import Database
from console.domain.alerting import Alerting, TranslatedAlerting
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, publish_update
from console.languages import Languages
from console.settings import Settings
from tests.archive.conftest import Sample
from tests.conftest import PIO

ALERTING = Alerting(
    urgency="Immediate",
    severity="Severe",
    response_types=("Shelter",),
    expires=datetime(2026, 3, 2, 18, 0, tzinfo=timezone(timedelta(hours=-5))),
    instruction="Go indoors and close windows.",
    wea_short="Gas leak: go indoors, close windows.",
)


@pytest.fixture
def exported(
    settings: Settings,
    db: Database,
    routing: Routing,
    sample: Sample,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    with db.write() as session:
        published = publish_update(
            session,
            PIO,
            sample.slug,
            Draft(body="Shelter in place near the plant."),
            routing=routing,
            alerting=ALERTING,
            now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
        add_translation(
            session,
            PIO,
            published.update.id,
            TranslationDraft(
                lang="es",
                body="Refúgiese cerca de la planta.",
                alerting=TranslatedAlerting(
                    instruction="Entre y cierre las ventanas.", wea_short="Entre ya."
                ),
            ),
            version=1,
            languages=Languages(("en", "es")),
            routing=routing,
            now=datetime(2026, 3, 2, 9, 5, tzinfo=UTC),
        )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    directory = tmp_path / "export"
    assert main(["archive", "export", str(directory)]) == 0
    return directory


def test_the_fields_are_exported_and_verified(
    exported: Path, sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_file = exported / "incidents" / f"{sample.slug}.json"
    record = json.loads(record_file.read_text())
    newest = record["updates"][0]["versions"][0]
    assert newest["cap"] == {
        "urgency": "Immediate",
        "severity": "Severe",
        "response_types": ["Shelter"],
        "expires": "2026-03-02T18:00:00-05:00",
    }
    assert newest["instruction"] == "Go indoors and close windows."
    assert newest["wea"] == {"short": "Gas leak: go indoors, close windows."}
    [spanish] = newest["translations"]
    assert (spanish["instruction"], spanish["wea"]) == (
        "Entre y cierre las ventanas.",
        {"short": "Entre ya."},
    )
    [row] = [
        row
        for row in csv.DictReader(
            io.StringIO((exported / "incidents" / sample.slug / "history.csv").read_text())
        )
        if row["body"] == "Shelter in place near the plant."
    ]
    assert json.loads(row["alerting"])["instruction"] == "Go indoors and close windows."

    capsys.readouterr()
    assert main(["verify", str(exported)]) == 0, capsys.readouterr().err

    alone = tmp_path / "record.json"
    shutil.copyfile(record_file, alone)
    alone.write_text(record_file.read_text().replace("close windows.", "open windows."))
    capsys.readouterr()
    assert main(["verify", str(alone)]) == 1
    assert "its text does not match its content_hash" in capsys.readouterr().err
