"""`console audit verify` sees deletions and incident tampering (issue 14.1).

Every row an audit event records (versions, translations, incidents and their details
versions, resolutions, rumor responses) must still exist with the content it recorded, and
every such row must have its event. Incident rows are protected like versions: the database
refuses direct edits of their details and any deletion; with the triggers dropped, verify
names what was done."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DatabaseError

from console.cli import main
from console.db import Database
from console.domain import rumors
from console.domain.actors import Actor
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.integrity import verify, verify_signatures
from console.domain.outbox import Routing
from console.domain.resolution import resolve_with_all_clear
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import (
    NO_TRANSLATIONS,
    Draft,
    Translations,
    correct_update,
    publish_update,
    retract_update,
)
from console.keyset import KeySet
from console.languages import Languages
from console.models import IncidentDetailsVersion, Role
from console.settings import Settings
from tests.support.factories import make_user

LANGUAGES = Languages(("en", "es"))


@dataclass(frozen=True)
class Record:
    slug: str
    update_id: int  # update 1: corrected, then retracted; translated into Spanish
    second_update_id: int  # update 2: untouched
    rumor_id: int
    bare_slug: str  # an incident with nothing but its creation


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


@pytest.fixture
def record(db: Database, routing: Routing) -> Record:
    # A PIO with an account, so each incident records who created it.
    PIO = Actor(
        user_id=make_user(db, "pio", "pat@example.org", "Pat PIO"), name="Pat PIO", role=Role.PIO, via="api"
    )
    with db.write() as session:
        incident, _ = create_incident(
            session,
            PIO,
            IncidentDraft(title="Evacuation", location="Elm St", category="Fire"),
            routing=routing,
        )
        slug = incident.slug
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(location="Elm St and Oak St"),
            reason="Wider",
            corrects_version=1,
            routing=routing,
        )
        first = publish_update(
            session,
            PIO,
            slug,
            Draft(body="Evacuate Elm St now."),
            routing=routing,
            translations=Translations([TranslationDraft(lang="es", body="Evacúe Elm St ahora.")], LANGUAGES),
        )
        correct_update(
            session,
            PIO,
            first.update.id,
            Draft(body="Evacuate Elm St and Oak St now."),
            reason="Wider",
            corrects_version=1,
            routing=routing,
        )
        second = publish_update(session, PIO, slug, Draft(body="Shelter at Station 4."), routing=routing)
        retract_update(session, PIO, first.update.id, reason="Order lifted", routing=routing)
        rumor = rumors.publish_rumor(
            session,
            PIO,
            rumors.RumorDraft(claim="A second leak", verdict="false", facts="One leak only."),
            incident_slug=slug,
            routing=routing,
            languages=LANGUAGES,
            translations=[rumors.RumorTranslationDraft("es", "Una segunda fuga", "Solo hay una fuga.")],
        )
        resolve_with_all_clear(
            session, PIO, slug, "All clear: return home.", translations=NO_TRANSLATIONS, routing=routing
        )
        bare, _ = create_incident(session, PIO, IncidentDraft(title="Drill"), routing=routing)
        return Record(slug, first.update.id, second.update.id, rumor.rumor.id, bare.slug)


def problem_after(db: Database, *statements: str) -> str:
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    with db.read() as session:
        report = verify(session)
    assert not report.ok, "verify missed it"
    assert report.chain.ok, "the chain itself is intact: the row check must find it"
    assert report.version_problem is not None
    return report.version_problem


def test_the_untouched_record_verifies(db: Database, record: Record) -> None:
    with db.read() as session:
        report = verify(session)
    assert report.ok, report.describe()


# --- the database refuses direct changes of incidents -------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incidents SET alert_status = 'exercise', title = 'Evacuation drill'",
        "UPDATE incidents SET title = 'Something else'",
        "UPDATE incidents SET summary = 'x'",
        "UPDATE incidents SET location = 'Nowhere'",
        "UPDATE incidents SET category = 'Met'",
        "UPDATE incidents SET slug = slug || '-x'",
        "UPDATE incidents SET created_at = updated_at",
        "UPDATE incidents SET created_by_id = NULL",
        "DELETE FROM incidents",
        "UPDATE incident_details_versions SET title = 'x'",
        "DELETE FROM incident_details_versions",
    ],
)
def test_the_database_refuses_direct_edits_of_incidents(db: Database, record: Record, statement: str) -> None:
    with pytest.raises(DatabaseError, match="immutable|audited details versions"), db.engine.begin() as conn:
        conn.execute(text(statement))


def test_status_changes_through_the_services_are_still_allowed(db: Database, record: Record) -> None:
    with db.read() as session:
        assert verify(session).ok  # resolve, details change, publish all ran through the guard


# --- with the triggers dropped, verify names each deletion --------------------------------

RETRACTION = "SELECT id FROM update_versions WHERE kind = 'retraction'"


def _delete_update(update_id: int) -> list[str]:
    """Everything a whole update leaves behind, deleted in an order the foreign keys allow."""
    versions = f"SELECT id FROM update_versions WHERE update_id = {update_id}"
    events = f"SELECT id FROM outbox_events WHERE version_id IN ({versions})"
    return [
        "DELETE FROM social_posts WHERE delivery_id IN "
        f"(SELECT id FROM deliveries WHERE event_id IN ({events}))",
        f"DELETE FROM deliveries WHERE event_id IN ({events})",
        f"DELETE FROM translations WHERE update_id = {update_id}",
        f"DELETE FROM outbox_events WHERE version_id IN ({versions})",
        f"DELETE FROM update_versions WHERE update_id = {update_id}",
        f"DELETE FROM updates WHERE id = {update_id}",
    ]


def _drop_events_of(where: str) -> list[str]:
    events = f"SELECT id FROM outbox_events WHERE {where}"
    return [
        f"DELETE FROM deliveries WHERE event_id IN ({events})",
        f"DELETE FROM outbox_events WHERE {where}",
    ]


def test_deleting_a_retraction_is_found(tampered_db: Database, record: Record) -> None:
    problem = problem_after(
        tampered_db,
        *_drop_events_of(f"version_id IN ({RETRACTION})"),
        f"DELETE FROM update_versions WHERE id IN ({RETRACTION})",
    )
    assert f"update {record.update_id} version 3 is missing" in problem and "audit event" in problem


def test_deleting_a_whole_update_is_found(tampered_db: Database, record: Record) -> None:
    problem = problem_after(tampered_db, *_delete_update(record.second_update_id))
    assert f"update {record.second_update_id} version 1 is missing" in problem


def test_deleting_a_translation_is_found(tampered_db: Database, record: Record) -> None:
    problem = problem_after(tampered_db, "DELETE FROM translations")
    assert "translation" in problem and "is missing" in problem


def test_deleting_a_details_version_is_found(tampered_db: Database, record: Record) -> None:
    problem = problem_after(tampered_db, "DELETE FROM incident_details_versions WHERE version = 2")
    assert f"incident {record.slug} details version 2 is missing" in problem


def test_deleting_a_rumor_response_is_found(tampered_db: Database, record: Record) -> None:
    problem = problem_after(
        tampered_db,
        *_drop_events_of("rumor_version_id IS NOT NULL"),
        "DELETE FROM rumor_translations",
        "DELETE FROM rumor_versions",
    )
    assert f"rumor response {record.rumor_id} version 1 is missing" in problem


def test_deleting_an_incident_is_found(tampered_db: Database, record: Record) -> None:
    bare = f"(SELECT id FROM incidents WHERE slug = '{record.bare_slug}')"
    problem = problem_after(
        tampered_db,
        *_drop_events_of(f"incident_id = {bare}"),
        f"DELETE FROM incident_details_versions WHERE incident_id = {bare}",
        f"DELETE FROM incidents WHERE id = {bare}",
    )
    assert f"incident {record.bare_slug}" in problem and "is missing" in problem


# --- with the triggers dropped, verify names each edited column ---------------------------

INCIDENT_EDITS = {
    "title": "title = 'Evacuation drill'",
    "summary": "summary = 'Nothing to see'",
    "location": "location = 'Nowhere'",
    "category": "category = 'Met'",
    "alert_status": "alert_status = 'exercise'",
    "status": "status = 'active'",
    "resolved_at": "resolved_at = created_at",
    "created_at": "created_at = resolved_at",
    "created_by_id": "created_by_id = NULL",
}


@pytest.mark.parametrize("column", sorted(INCIDENT_EDITS))
def test_editing_any_column_of_an_incident_is_found(
    tampered_db: Database, record: Record, column: str
) -> None:
    problem = problem_after(
        tampered_db, f"UPDATE incidents SET {INCIDENT_EDITS[column]} WHERE slug = '{record.slug}'"
    )
    assert f"incident {record.slug}" in problem


def test_relabelling_a_real_evacuation_as_a_drill_is_found(tampered_db: Database, record: Record) -> None:
    problem = problem_after(
        tampered_db,
        "UPDATE incidents SET alert_status = 'exercise', title = 'Evacuation drill' "
        f"WHERE slug = '{record.slug}'",
    )
    assert "are not those of its details version 2" in problem


def test_editing_the_slug_is_found_with_its_event(tampered_db: Database, record: Record) -> None:
    slug = record.bare_slug  # no version hashes its slug: only its audit event can tell
    problem = problem_after(tampered_db, f"UPDATE incidents SET slug = 'other' WHERE slug = '{slug}'")
    assert problem.startswith("audit event ") and "(incident.created)" in problem
    assert f"incident {slug}" in problem and "now has slug 'other'" in problem


DETAILS_EDITS = {
    "title": "title = 'x'",
    "summary": "summary = 'x'",
    "location": "location = 'x'",
    "category": "category = 'Met'",
    "alert_status": "alert_status = 'test'",
    "reason": "reason = 'x'",
    "author_name": "author_name = 'x'",
    "published_at": "published_at = (SELECT created_at FROM incidents LIMIT 1)",
    "content_hash": "content_hash = 'x'",
    "version": "version = 7",
}


@pytest.mark.parametrize("column", sorted(DETAILS_EDITS))
def test_editing_any_column_of_a_details_version_is_found(
    tampered_db: Database, record: Record, column: str
) -> None:
    problem = problem_after(
        tampered_db, f"UPDATE incident_details_versions SET {DETAILS_EDITS[column]} WHERE version = 2"
    )
    assert f"incident {record.slug}" in problem and "details version" in problem


TRANSLATION_EDITS = {
    "body": "body = 'x'",
    "headline": "headline = 'x'",
    "lang": "lang = 'vi'",
    "author_name": "author_name = 'x'",
    "created_at": "created_at = (SELECT created_at FROM incidents LIMIT 1)",
    "content_hash": "content_hash = 'x'",
}


@pytest.mark.parametrize("column", sorted(TRANSLATION_EDITS))
def test_editing_any_column_of_a_translation_is_found(
    tampered_db: Database, record: Record, column: str
) -> None:
    problem = problem_after(tampered_db, f"UPDATE translations SET {TRANSLATION_EDITS[column]}")
    assert "translation" in problem


RUMOR_EDITS = {
    "claim": "claim = 'x'",
    "facts": "facts = 'x'",
    "verdict": "verdict = 'true'",
    "seen_at": "seen_at = 'x'",
    "author_name": "author_name = 'x'",
    "content_hash": "content_hash = 'x'",
    "version": "version = 5, reason = 'x'",
}


@pytest.mark.parametrize("column", sorted(RUMOR_EDITS))
def test_editing_any_column_of_a_rumor_response_is_found(
    tampered_db: Database, record: Record, column: str
) -> None:
    problem = problem_after(tampered_db, f"UPDATE rumor_versions SET {RUMOR_EDITS[column]}")
    assert "rumor response" in problem


RUMOR_TRANSLATION_EDITS = {
    "claim": "UPDATE rumor_translations SET claim = 'x'",
    "facts": "UPDATE rumor_translations SET facts = 'El agua está envenenada'",
    "lang": "UPDATE rumor_translations SET lang = 'vi'",
    "author_name": "UPDATE rumor_translations SET author_name = 'x'",
    "content_hash": "UPDATE rumor_translations SET content_hash = 'x'",
    "deleted": "DELETE FROM rumor_translations",
    "added": "INSERT INTO rumor_translations (rumor_version_id, lang, claim, facts, author_name, created_at,"
    " content_hash, signature_kid, signature_value) SELECT rumor_version_id, 'es', claim, facts, author_name,"
    " created_at, content_hash, signature_kid, signature_value FROM rumor_translations",
}


@pytest.mark.parametrize("change", sorted(RUMOR_TRANSLATION_EDITS))
def test_changing_a_rumor_responses_translations_is_found(
    tampered_db: Database, record: Record, change: str
) -> None:
    problem = problem_after(tampered_db, RUMOR_TRANSLATION_EDITS[change])
    assert f"rumor response {record.rumor_id} version 1" in problem and "translation" in problem


SIGNATURE_EDITS = {
    "forged": (
        "UPDATE update_versions SET signature_value = 'AAAA'"
        " WHERE id = (SELECT MIN(id) FROM update_versions)",
        "update version",
        "does not verify",
    ),
    "unknown key": (
        "UPDATE rumor_versions SET signature_kid = 'k-forged'",
        "rumor response version",
        "not in the key set",
    ),
    "another row's": (
        "UPDATE rumor_translations"
        " SET signature_value = (SELECT signature_value FROM rumor_versions LIMIT 1)",
        "rumor response translation",
        "does not verify",
    ),
    "a details version's": (
        "UPDATE incident_details_versions"
        " SET signature_value = (SELECT signature_value FROM update_versions LIMIT 1) WHERE version = 2",
        "incident details version",
        "does not verify",
    ),
}


@pytest.mark.parametrize("change", sorted(SIGNATURE_EDITS))
def test_a_stored_signature_that_does_not_hold_is_found(
    tampered_db: Database, record: Record, settings: Settings, change: str
) -> None:
    statement, what, problem = SIGNATURE_EDITS[change]
    keys = KeySet.load(settings.signing_key_file)
    with tampered_db.read() as session:
        assert verify(session, keys).ok, "the untouched record's signatures hold"
    with tampered_db.engine.begin() as conn:
        conn.execute(text(statement))
    with tampered_db.read() as session:
        assert verify(session).ok, "the hashes still hold: only the signature check sees it"
        report = verify(session, keys)
    assert report.version_problem is not None and report.version_problem.startswith(what), report.describe()
    assert problem in report.version_problem


def test_a_details_version_dated_before_its_key_was_in_use_is_found(
    tampered_db: Database, record: Record, settings: Settings
) -> None:
    keys = KeySet.load(settings.signing_key_file)
    with tampered_db.engine.begin() as conn:
        conn.execute(
            update(IncidentDetailsVersion)
            .where(IncidentDetailsVersion.version == 2)
            .values(published_at=datetime(1999, 12, 1, tzinfo=UTC))  # the key came into use in 2000
        )
        row_id = conn.scalar(
            select(func.min(IncidentDetailsVersion.id)).where(IncidentDetailsVersion.version == 2)
        )
    with tampered_db.read() as session:
        report = verify_signatures(session, keys)
    assert report.problem == (
        f"incident details version {row_id}: key {keys.current.kid!r} was not the agency's signing key "
        "when it was published"
    )


def test_a_row_without_a_signature_since_signing_began_is_named_but_its_content_still_holds(
    tampered_db: Database, record: Record, settings: Settings
) -> None:
    """Published by a process still without signing during an upgrade, or stripped: its text
    is still checked against its hash and the audit chain; the report names it."""
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE translations SET signature_kid = NULL, signature_value = NULL"))
        translation_id = conn.scalar(text("SELECT MIN(id) FROM translations"))
    with tampered_db.read() as session:
        report = verify(session, KeySet.load(settings.signing_key_file))
    assert report.ok, report.describe()
    assert report.signatures is not None and report.signatures.unsigned == (f"translation {translation_id}",)
    assert (
        f"note: 1 rows published since signing began carry no signature (translation {translation_id})"
        in (report.describe())
    )
    with tampered_db.engine.begin() as conn:  # its text edited too: that is found, as always
        conn.execute(text("UPDATE translations SET body = 'x'"))
    with tampered_db.read() as session:
        assert not verify(session, KeySet.load(settings.signing_key_file)).ok


def test_the_cli_exits_1_naming_the_event_and_the_row(
    tampered_db: Database,
    record: Record,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    with tampered_db.engine.begin() as conn:
        conn.execute(text("DELETE FROM incident_details_versions WHERE version = 2"))
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr()
    assert "audit event" in out.out + out.err and "details version 2 is missing" in out.out + out.err
