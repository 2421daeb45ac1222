"""Translations in the domain: added per version, stale once a newer version is published,
shown only while current, recorded in the audit trail, pushed to the channels that take them."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.errors import InvalidInput, NotFound, PermissionDenied, VersionConflict
from console.domain.events import TranslationAdded
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.integrity import verify
from console.domain.outbox import Routing, claim_next
from console.domain.records import update_record
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import (
    TranslationStatus,
    add_translation,
    shown_translations,
    text_for_language,
    translation_gaps,
)
from console.domain.updates import (
    Draft,
    Translations,
    confirm_update,
    correct_update,
    latest_version,
    publish_update,
    retract_update,
)
from console.languages import Languages
from console.models import AuditEvent, Delivery, EventType, OutboxEvent, Translation, Update
from console.settings import Settings, SettingsError
from tests.conftest import PIO, REVIEWER

LANGUAGES = Languages(("en", "es", "vi"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


def publish(db: Database, routing: Routing, *drafts: TranslationDraft, body: str = "Main St closed.") -> int:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Water main break"), routing=routing)
        published = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body=body, headline="Road closed"),
            routing=routing,
            translations=Translations(drafts, LANGUAGES),
        )
        return published.update.id


def add(
    db: Database, routing: Routing, update_id: int, lang: str, body: str, version: int
) -> TranslationAdded:
    with db.write() as session:
        added = add_translation(
            session,
            PIO,
            update_id,
            TranslationDraft(lang=lang, body=body),
            version=version,
            languages=LANGUAGES,
            routing=routing,
        )
        return added.event


def correct(db: Database, routing: Routing, update_id: int, body: str, corrects: int) -> None:
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body=body),
            reason="Wrong street",
            corrects_version=corrects,
            routing=routing,
        )


def reader_text(db: Database, update_id: int, lang: str) -> tuple[str, str, TranslationStatus | None]:
    with db.read() as session:
        current = latest_version(session, session.get_one(Update, update_id))
        shown = shown_translations(session, [update_id]).get(update_id, {})
        result = text_for_language(current, shown, lang, LANGUAGES)
        return result.lang, result.body, result.status


def test_a_translation_published_with_the_update_is_shown_in_its_language(
    db: Database, routing: Routing
) -> None:
    update_id = publish(
        db, routing, TranslationDraft(lang="es", headline="Calle cerrada", body="Main St cerrada.")
    )
    assert reader_text(db, update_id, "es") == ("es", "Main St cerrada.", TranslationStatus.CURRENT)
    assert reader_text(db, update_id, "en") == ("en", "Main St closed.", None)
    assert reader_text(db, update_id, "vi") == ("en", "Main St closed.", TranslationStatus.MISSING)
    with db.read() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        events = session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)).all()
    assert actions[-2:] == ["version.published", "translation.added"]
    # The version's own event carries its translations: no separate translation event.
    assert events == [EventType.INCIDENT_CREATED, EventType.VERSION_PUBLISHED]


def test_a_correction_makes_translations_stale_until_translated_again(db: Database, routing: Routing) -> None:
    update_id = publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    add(db, routing, update_id, "vi", "Đường Main đóng.", 1)
    correct(db, routing, update_id, "Main St closed at 4th Ave.", 1)

    for lang in ("es", "vi"):  # the new English text, never the stale translation, with why
        assert reader_text(db, update_id, lang) == (
            "en",
            "Main St closed at 4th Ave.",
            TranslationStatus.STALE,
        )
    with pytest.raises(VersionConflict) as conflict:
        add(db, routing, update_id, "es", "Main St cerrada en 4th Ave.", 1)
    assert conflict.value.current["version"] == 2

    add(db, routing, update_id, "es", "Main St cerrada en 4th Ave.", 2)
    assert reader_text(db, update_id, "es") == (
        "es",
        "Main St cerrada en 4th Ave.",
        TranslationStatus.CURRENT,
    )
    with db.read() as session:
        record = update_record(session, update_id, internal=False, languages=LANGUAGES)
        gaps = translation_gaps(session, LANGUAGES)
    assert record["translation_status"] == {"es": "current", "vi": "stale"}
    assert [t["status"] for t in record["versions"][0]["translations"]] == ["stale", "stale"]
    assert [(gap.update_id, gap.missing, gap.stale) for gap in gaps] == [(update_id, (), ("vi",))]


def test_a_confirmation_makes_translations_stale_too(db: Database, routing: Routing) -> None:
    update_id = publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    with db.write() as session:
        confirm_update(session, PIO, update_id, corrects_version=1, routing=routing)
    assert reader_text(db, update_id, "es") == ("en", "Main St closed.", TranslationStatus.STALE)


def test_a_retraction_is_read_in_the_translation_of_what_it_withdrew(db: Database, routing: Routing) -> None:
    """A retraction is never translated anew (its text is the withdrawn one): the translation of
    the version it retracted says it, struck through on the page; an older one does not."""
    update_id = publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    with db.write() as session:
        retract_update(session, PIO, update_id, reason="Wrong street", routing=routing)
    assert reader_text(db, update_id, "es") == ("es", "Main St cerrada.", TranslationStatus.CURRENT)
    older = publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    with db.write() as session:
        correct_update(
            session,
            PIO,
            older,
            Draft(body="Main St closed at 5th."),
            reason="5th",
            corrects_version=1,
            routing=routing,
        )
        retract_update(session, PIO, older, reason="Wrong street", routing=routing)
    assert reader_text(db, older, "es") == ("en", "Main St closed at 5th.", TranslationStatus.STALE)


def test_a_resubmitted_translation_replaces_the_shown_one_and_keeps_the_earlier(
    db: Database, routing: Routing
) -> None:
    update_id = publish(db, routing, TranslationDraft(lang="es", body="Main St cerada."))
    add(db, routing, update_id, "es", "Main St cerrada.", 1)
    assert reader_text(db, update_id, "es")[1] == "Main St cerrada."
    with db.read() as session:
        record = update_record(session, update_id, internal=False, languages=LANGUAGES)
    assert [(t["body"], t["status"]) for t in record["versions"][0]["translations"]] == [
        ("Main St cerada.", "superseded"),
        ("Main St cerrada.", "current"),
    ]


def test_adding_a_translation_is_audited_and_goes_to_live_feeds_and_archive_not_social(
    db: Database, settings: Settings
) -> None:
    routing = routing_for(
        dataclasses.replace(settings, channels=("live", "archive", "feeds", "x", "mastodon"))
    )
    update_id = publish(db, routing)
    event = add(db, routing, update_id, "es", "Main St cerrada.", 1)
    assert (event.lang, event.version, event.update_id) == ("es", 1, update_id)
    with db.read() as session:
        channels = set(session.scalars(select(Delivery.channel).where(Delivery.event_id == event.event_id)))
        audit = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert channels == {"live", "archive", "feeds"}
    assert audit.action == "translation.added" and '"lang":"es"' in audit.data
    with db.write() as session:  # a claimed delivery hands the channel the typed event
        claim = None
        while claim is None or claim.event.type is not EventType.TRANSLATION_ADDED:
            claim = claim_next(session, "live", ordered=False, lease_seconds=30)
            assert claim is not None
        assert claim.event == event


@pytest.mark.parametrize(
    ("lang", "body", "version", "field"),
    [
        ("fr", "Rue fermée.", 1, "lang"),  # not in LANGUAGES
        ("en", "Closed.", 1, "lang"),  # the primary language
        ("xx-!!", "Closed.", 1, "lang"),  # not a language tag
        ("es", "   ", 1, "body"),
        ("es", "x" * 5001, 1, "body"),
        ("es", "Cerrada.", 3, "version"),  # no such version
    ],
)
def test_invalid_translations_are_refused_with_the_field_named(
    db: Database, routing: Routing, lang: str, body: str, version: int, field: str
) -> None:
    update_id = publish(db, routing)
    with pytest.raises(InvalidInput) as refused:
        add(db, routing, update_id, lang, body, version)
    assert field in refused.value.fields
    with db.read() as session:
        assert session.scalars(select(Translation)).all() == []


def test_translations_sent_with_a_version_are_checked_before_anything_is_written(
    db: Database, routing: Routing
) -> None:
    with pytest.raises(InvalidInput) as refused:
        publish(
            db, routing, TranslationDraft(lang="es", body="Uno."), TranslationDraft(lang="ES", body="Dos.")
        )
    assert "translations[1].lang" in refused.value.fields
    with db.read() as session:
        assert session.scalars(select(Update)).all() == []


def test_unknown_update_and_readers_are_refused(db: Database, routing: Routing) -> None:
    with pytest.raises(NotFound):
        add(db, routing, 424242, "es", "Cerrada.", 1)
    update_id = publish(db, routing)
    with pytest.raises(PermissionDenied), db.write() as session:
        add_translation(
            session,
            REVIEWER,
            update_id,
            TranslationDraft(lang="es", body="x"),
            version=1,
            languages=LANGUAGES,
            routing=routing,
        )


@pytest.mark.parametrize(
    "statement", ["UPDATE translations SET body = 'changed'", "DELETE FROM translations"]
)
def test_the_database_refuses_changes_to_translations(db: Database, routing: Routing, statement: str) -> None:
    publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    with pytest.raises(DatabaseError, match="immutable"), db.engine.begin() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "at least one"),
        ("en,es,EN", "twice"),
        ("en,e s", "not a language tag"),
        ("en,klingon", "console knows"),
    ],
)
def test_languages_setting_is_checked(value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        Settings.from_environ({"LANGUAGES": value})


def test_languages_setting_keeps_the_usual_spelling_primary_first() -> None:
    settings = Settings.from_environ({"LANGUAGES": " EN , es ,pt_br,zh-hant"})
    assert settings.languages == ("en", "es", "pt-BR", "zh-Hant")
    assert settings.primary_language == "en"
    assert Settings.from_environ({}).languages == ("en",)


def test_an_edited_translation_is_found_by_the_integrity_check(db: Database, routing: Routing) -> None:
    publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    with db.read() as session:
        assert verify(session).ok
    postgres = db.engine.dialect.name == "postgresql"
    trigger = "translations_immutable ON translations" if postgres else "translations_no_update"
    with db.engine.begin() as conn:  # someone with database access drops the guard and edits
        conn.execute(text(f"DROP TRIGGER {trigger}"))
        conn.execute(text("UPDATE translations SET body = 'Main St abierta.'"))
    try:
        with db.read() as session:
            report = verify(session)
        assert not report.ok
        assert report.version_problem is not None and "translation 1" in report.version_problem
        assert "does not match its hash" in report.version_problem
    finally:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER translations_immutable BEFORE UPDATE OR DELETE ON translations "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
                    if postgres
                    else "CREATE TRIGGER translations_no_update BEFORE UPDATE ON translations "
                    "BEGIN SELECT RAISE(ABORT, 'translations rows are immutable: UPDATE refused'); END"
                )
            )


def test_sending_the_same_translation_again_is_refused(db: Database, routing: Routing) -> None:
    update_id = publish(db, routing, TranslationDraft(lang="es", body="Main St cerrada."))
    with pytest.raises(InvalidInput) as refused:
        add(db, routing, update_id, "es", "  Main St cerrada.  ", 1)
    assert "same" in refused.value.fields["body"]
    correct(db, routing, update_id, "Main St closed at 4th Ave.", 1)
    add(db, routing, update_id, "es", "Main St cerrada.", 2)  # the same words for the new version: fine
