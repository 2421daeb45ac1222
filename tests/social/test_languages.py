"""Social posts stay in the primary language: a version's translations never reach X or
Mastodon, and adding one later posts nothing (accounts per language are not supported)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy import select

from console.channels.registry import build_channels
from console.channels.registry import routing as routing_for
from console.db import Database
from console.dispatcher import Dispatcher
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, Translations, publish_update
from console.languages import Languages
from console.live.bus import LiveBus
from console.models import Delivery, EventType, OutboxEvent
from console.settings import Settings
from tests.conftest import PIO


def test_posts_are_in_the_primary_language_and_translations_post_nothing(
    settings: Settings, db: Database
) -> None:
    preview = replace(settings, languages=("en", "es"))  # no credentials: posts are composed, not sent
    routing = routing_for(preview)
    languages = Languages(preview.languages)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        update = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="Evacuate Elm St now."),
            routing=routing,
            translations=Translations([TranslationDraft(lang="es", body="Evacúen Elm St ya.")], languages),
        ).update
        add_translation(
            session,
            PIO,
            update.id,
            TranslationDraft(lang="es", body="Evacúen Elm St ahora."),
            version=1,
            languages=languages,
            routing=routing,
        )
    channels = build_channels(preview, db, LiveBus.from_settings(preview))
    asyncio.run(Dispatcher.from_settings(preview, db, channels).drain())
    with db.read() as session:
        social = session.execute(
            select(Delivery.channel, Delivery.detail, OutboxEvent.type)
            .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
            .where(Delivery.channel.in_(["x", "mastodon"]))
        ).all()
    assert sorted(channel for channel, _, _ in social) == ["mastodon", "x"], "one post each, for the version"
    for _, detail, event_type in social:
        assert event_type is EventType.VERSION_PUBLISHED
        assert detail is not None and "Evacuate Elm St now." in detail and "Evac\u00faen" not in detail
