"""The offline snapshot (`console archive export`) speaks English (its own words), and the
record's words are in the primary language of LANGUAGES: where that is not English, each part
of the record says so (`lang`), as on the web, so that a screen reader reads it in its own
voice. The snapshot's templates are `templates/archive/`."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from console.archive_snapshot import export_snapshot
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, correct_update, publish_update
from console.settings import Settings
from tests.conftest import PIO


def test_a_snapshot_of_a_spanish_record_marks_the_spanish_words(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    spanish = replace(settings, languages=("es", "en"), agency_name="Policía de Ejemplo")
    routing = routing_for(spanish)
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Fuga de gas", location="Calle Olmo"), routing=routing
        )
        published = publish_update(
            session, PIO, incident.slug, Draft(headline="Evacúen", body="Salgan ya."), routing=routing
        )
        correct_update(
            session,
            PIO,
            published.update.id,
            Draft(headline="Evacúen", body="Salgan todos ya."),
            reason="Más amplio",
            corrects_version=1,
            routing=routing,
        )
    export_snapshot(db, spanish, tmp_path / "snapshot")

    history = (tmp_path / "snapshot" / "incidents" / incident.slug / "history.html").read_text()
    index = (tmp_path / "snapshot" / "index.html").read_text()
    corrections = (tmp_path / "snapshot" / "corrections.html").read_text()
    for page in (history, index, corrections):
        assert '<html lang="en">' in page  # its own words: "History", "Reason:", "Before"…
        assert '<span lang="es">Policía de Ejemplo</span>' in page, "the agency's name, in Spanish"
    assert '<h1><span lang="es">Fuga de gas</span>: history</h1>' in history
    assert '<p class="version__headline" lang="es">Evacúen</p>' in history
    assert '<div class="version__body" lang="es"><p>Salgan ya.</p></div>' in history
    assert '<strong>Reason:</strong> <span lang="es">Más amplio</span>' in history
    assert re.search(r'<div class="change change--inline" lang="es">', history)
    assert re.search(r'<a href="incidents/fuga-de-gas/history.html" lang="es">Fuga de gas</a>', index)
    assert '<span lang="es">Fuga de gas</span>, update 1' in corrections
    # No Spanish word of the record is left unmarked on the English page.
    for words in ("Salgan", "Evacúen", "Más amplio", "Calle Olmo"):
        for line in (line for line in history.splitlines() if words in line and "<title>" not in line):
            assert 'lang="es"' in line, f"{words!r} is not marked as Spanish: {line.strip()[:200]}"
