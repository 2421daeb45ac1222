"""A reviewer's `console verify` against exports edited in ways each signature alone does not
show: a version, an update or a details version taken out, repeated or moved; the incident's
details at the top of a record (what a reader sees first) changed; a details version's
signature or `area_canonical` taken away so that what it says goes unchecked."""

# The fixtures of test_signatures.py, imported by name: each test's parameter of that name is
# the fixture, which ruff takes for a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.resolution import resolve_with_all_clear
from console.domain.updates import NO_TRANSLATIONS, Draft, correct_update, publish_update
from console.verification import details_hash
from tests.archive.conftest import T0, Sample
from tests.archive.support import map_area
from tests.archive.test_signatures import (  # noqa: F401 (fixtures)
    CLOCKWISE,
    details_changed,
    export_archive,
    exported,
    translated,
)
from tests.conftest import PIO

Record = dict[str, Any]


@pytest.fixture(autouse=True)
def _agency_keys(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`console verify` with the agency's key set, as `console archive export` is run."""
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))


def _verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["verify", str(path)])
    out, err = capsys.readouterr()
    return status, out + err


def _forged(exported: Path, sample: Sample, tmp_path: Path, change: Callable[[Record], None]) -> Path:
    record = json.loads((exported / "incidents" / f"{sample.slug}.json").read_text())
    change(record)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(record, ensure_ascii=False))
    return path


def _update(record: Record, seq: int) -> Record:
    [update] = [update for update in record["updates"] if update["seq"] == seq]
    return update


def test_the_untouched_record_and_api_record_verify(
    client: TestClient,
    exported: Path,
    sample: Sample,
    details_changed: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, body in (
        ("record.json", client.get(f"/incidents/{sample.slug}.json").text),
        ("api.json", client.get(f"/api/v1/incidents/{sample.slug}").text),
        ("history.csv", client.get(f"/incidents/{sample.slug}/history.csv").text),
        ("archive.jsonl", client.get("/archive.jsonl").text),
    ):
        path = tmp_path / name
        path.write_bytes(body.encode("utf-8"))
        status, said = _verify(path, capsys)
        assert status == 0, said


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        # The correction of update 1 taken out: its confirmation now seems to confirm the original.
        (lambda r: _update(r, 1)["versions"].pop(1), " update 1: its version 2 is missing"),
        # Update 2 (retracted) taken out whole.
        (
            lambda r: r.__setitem__("updates", [u for u in r["updates"] if u["seq"] != 2]),
            ": its update 2 is missing",
        ),
        # The versions of update 1 shown newest first, so the original reads as the correction.
        (lambda r: _update(r, 1)["versions"].reverse(), " update 1: its versions are not in order (3, 2, 1)"),
        # A version repeated (spliced in again from another copy of the record).
        (
            lambda r: _update(r, 3)["versions"].append(copy.deepcopy(_update(r, 3)["versions"][0])),
            " update 3: its version 1 appears twice",
        ),
        # Two updates swapped.
        (
            lambda r: r["updates"].reverse(),
            ": its updates are not in order (newest first)",
        ),
    ],
)
def test_a_version_or_update_taken_out_repeated_or_moved_fails(
    exported: Path,
    sample: Sample,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Record], None],
    problem: str,
) -> None:
    status, said = _verify(_forged(exported, sample, tmp_path, change), capsys)
    assert status == 1 and f"incident {sample.slug}{problem}" in said, said


def test_a_history_csv_with_a_row_taken_out_or_moved_fails(
    exported: Path, sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (exported / "incidents" / sample.slug / "history.csv").read_bytes().decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text)))
    path = tmp_path / "history.csv"

    def write(kept: list[list[str]]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows([header, *kept])
        path.write_bytes(buffer.getvalue().encode("utf-8"))

    write(rows)
    status, said = _verify(path, capsys)
    assert status == 0, said
    write([row for row in rows if (row[1], row[2]) != ("1", "2")])  # the correction of update 1
    status, said = _verify(path, capsys)
    assert status == 1 and f"incident {sample.slug} update 1: its version 2 is missing" in said, said
    write([row for row in rows if row[1] != "2"])  # update 2 and its retraction
    status, said = _verify(path, capsys)
    assert status == 1 and f"incident {sample.slug}: its update 2 is missing" in said, said
    write([row for row in rows if (row[1], row[2]) != ("2", "2")])  # only the retraction
    status, said = _verify(path, capsys)
    # Taking out an update's newest version leaves nothing out of order: only a signed count
    # (the snapshot's manifest) shows it. The retraction moved before the original does.
    assert status == 0, said
    retraction = [row for row in rows if (row[1], row[2]) == ("2", "2")]
    others = [row for row in rows if (row[1], row[2]) != ("2", "2")]
    write(retraction + others)
    status, said = _verify(path, capsys)
    assert status == 1 and "update 2: its versions are not in order (2, 1)" in said, said


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("title", "Gas leak drill"),
        ("location", "Ash St"),
        ("category", "Safety"),
        ("alert_status", "exercise"),
        ("cap_defaults", {"urgency": "Past"}),
    ],
)
def test_the_incidents_details_shown_at_the_top_of_a_record_are_its_signed_ones(
    exported: Path,
    sample: Sample,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: object,
) -> None:
    """`title`, `location`… at the top of a record are what a reader sees first; no signature
    covers them there, so they must be the newest (signed) details version's."""
    status, said = _verify(_forged(exported, sample, tmp_path, lambda r: r.__setitem__(name, value)), capsys)
    assert status == 1, said
    assert f"incident {sample.slug}: its {name} {value!r} is not its newest details version's" in said


def test_a_details_version_stripped_of_its_signature_fails(
    settings: Any,
    db: Database,
    routing: Routing,
    sample: Sample,
    details_changed: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A details version made once details were signed, passed off as one from before: its text
    would go unchecked and the summary would only count it as not provable."""

    folder = export_archive(settings, tmp_path / "export", monkeypatch)

    def downgrade(record: Record) -> None:
        newest = record["details_versions"][1]
        newest["fields"]["location"] = record["location"] = "Ash St"
        newest["signature"] = None
        newest["content_hash"] = details_hash(sample.slug, newest)

    status, said = _verify(_forged(folder, sample, tmp_path, downgrade), capsys)
    assert status == 1, said
    assert f"incident {sample.slug} details version 2: it carries no signature, though version 1" in said

    def unsigned_translation(record: Record) -> None:
        record["details_translations"]["es"]["title"] = "Simulacro"
        record["details_translations"]["es"]["signature"] = None

    status, said = _verify(_forged(folder, sample, tmp_path, unsigned_translation), capsys)
    assert status == 1, said
    assert "details version 2 (es translation): it carries no signature, though the version it" in said


def test_a_details_version_stripped_of_its_area_canonical_fails(
    client: TestClient,
    db: Database,
    routing: Routing,
    sample: Sample,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without `area_canonical` a version's hash cannot be recomputed: in an export that has it,
    taking it away would leave the version's title, location… unchecked."""
    area = {"description": "Downtown", "polygons": [CLOCKWISE], "circles": [], "geocodes": []}
    map_area(db, routing, sample.slug, area)
    record = client.get(f"/incidents/{sample.slug}.json").json()
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 0, said
    mapped = record["details_versions"][1]
    del mapped["area_canonical"]
    mapped["fields"]["location"] = record["location"] = "Ash St"
    path.write_text(json.dumps(record))
    status, said = _verify(path, capsys)
    assert status == 1, said
    assert "details version 2: it has an area but no area_canonical, as the other versions have" in said


def _history_csv(client: TestClient, slug: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(client.get(f"/incidents/{slug}/history.csv").text)))
    return header, rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def test_the_labels_a_history_csv_shows_are_those_of_each_rows_kind(
    client: TestClient, sample: Sample, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`labels` (PRELIMINARY, CORRECTION, RETRACTED…) is what a spreadsheet reader sees first,
    and no hash covers it: an unconfirmed original passed off as CONFIRMED, a retraction's
    RETRACTED taken away, must not verify."""
    header, rows = _history_csv(client, sample.slug)
    labels = header.index("labels")
    path = tmp_path / "history.csv"
    status, said = _verify(_write_csv(path, header, rows), capsys)
    assert status == 0, said
    assert [row[labels] for row in rows] == [
        "PRELIMINARY",
        "CORRECTION PRELIMINARY",
        "CONFIRMED",
        "PRELIMINARY",
        "RETRACTED",
        "",
    ]
    for line, forged in ((2, "CONFIRMED"), (6, ""), (7, "PRELIMINARY")):
        changed = copy.deepcopy(rows)
        changed[line - 2][labels] = forged
        status, said = _verify(_write_csv(path, header, changed), capsys)
        assert status == 1, said
        assert f"history.csv line {line}: incident {sample.slug} update" in said
        assert f"its labels {forged!r} do not say" in said, said


def test_an_exercises_resolved_history_csv_verifies_with_its_labels(
    client: TestClient, db: Database, routing: Routing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Drill", alert_status="exercise"), routing=routing, now=T0
        )
        slug = incident.slug
        publish_update(session, PIO, slug, Draft(body="Drill begins."), routing=routing, now=T0)
        resolved = resolve_with_all_clear(
            session, PIO, slug, "Drill over.", translations=NO_TRANSLATIONS, routing=routing, now=T0
        )
        correct_update(
            session,
            PIO,
            resolved.all_clear.update.id,
            Draft(body="Drill over at noon.", preliminary=False),
            reason="Time added",
            corrects_version=1,
            routing=routing,
            now=T0 + timedelta(minutes=1),
        )
    header, rows = _history_csv(client, slug)
    labels = header.index("labels")
    assert [row[labels] for row in rows] == [
        "EXERCISE PRELIMINARY",
        "EXERCISE RESOLVED",
        "EXERCISE RESOLVED CORRECTION",
    ]
    path = _write_csv(tmp_path / "history.csv", header, rows)
    status, said = _verify(path, capsys)
    assert status == 0, said
    # As exported before an all-clear's corrections kept RESOLVED: still authentic.
    older = copy.deepcopy(rows)
    older[2][labels] = "EXERCISE CORRECTION"
    status, said = _verify(_write_csv(path, header, older), capsys)
    assert status == 0, said
    for forged, problem in (
        ("EXERCISE RESOLVED CONFIRMED", "do not say what its kind (correction) is"),
        ("RESOLVED CORRECTION", "do not say what the incident's other rows say it is"),
        ("EXERCISE RESOLVED CORRECTION VERIFIED", "hold words no version is labelled with"),
    ):
        changed = copy.deepcopy(rows)
        changed[2][labels] = forged
        status, said = _verify(_write_csv(path, header, changed), capsys)
        assert status == 1 and f"its labels {forged!r} {problem}" in said, said


def test_an_archive_jsonl_holding_an_incident_twice_fails(
    client: TestClient,
    sample: Sample,
    routing: Routing,
    db: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two records of one incident, each genuine (an older copy spliced in after a newer one):
    which one is the record? `archive.jsonl` holds each incident once."""

    older = client.get("/archive.jsonl").content
    with db.write() as session:
        publish_update(session, PIO, sample.slug, Draft(body="Crews are leaving."), routing=routing)
    newer = client.get("/archive.jsonl").content
    path = tmp_path / "archive.jsonl"
    path.write_bytes(newer)
    status, said = _verify(path, capsys)
    assert status == 0, said
    path.write_bytes(newer + older)
    status, said = _verify(path, capsys)
    assert status == 1, said
    assert f"archive.jsonl line 2: incident {sample.slug} again: line 1 holds its record" in said, said
