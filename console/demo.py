"""`console demo`: a realistic sample incident, with every kind of version."""

from __future__ import annotations

from console.channels.registry import routing
from console.db import Database
from console.domain.actors import Actor
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.resolution import resolve_with_all_clear
from console.domain.updates import (
    NO_TRANSLATIONS,
    Draft,
    confirm_update,
    correct_update,
    publish_update,
    retract_update,
)
from console.models import Role
from console.settings import Settings

DEMO_PIO = Actor(user_id=None, name="Sgt. Dana Ortiz (demo)", role=Role.PIO, via="cli")


def load_demo(db: Database, settings: Settings, *, resolve: bool = False) -> str:
    routes = routing(settings)
    with db.write() as session:
        incident, _ = create_incident(
            session,
            DEMO_PIO,
            IncidentDraft(
                title="Police activity near Riverside Park",
                summary="Officers are responding to a report of a person with a weapon near Riverside Park.",
                location="5th Ave and Elm St, Riverside",
                category="Security",
            ),
            routing=routes,
        )
        slug = incident.slug
        first = publish_update(
            session,
            DEMO_PIO,
            slug,
            Draft(
                headline="Avoid the area around Riverside Park",
                body="Officers are responding to a report of a person with a weapon near 5th Ave and Elm St. "
                "Please avoid the area. This is an active situation; details may change.",
            ),
            routing=routes,
        )
        closure = publish_update(
            session,
            DEMO_PIO,
            slug,
            Draft(
                headline="5th Ave closed",
                body="5th Ave is closed between Elm St and Oak St. Use Main St as a detour.",
            ),
            routing=routes,
        )
        correct_update(
            session,
            DEMO_PIO,
            closure.update.id,
            Draft(
                headline="5th Ave closed",
                body="5th Ave is closed between Elm St and Pine St. Use Main St as a detour.",
            ),
            reason="The closure ends at Pine St, not Oak St.",
            corrects_version=1,
            routing=routes,
        )
        confirm_update(session, DEMO_PIO, first.update.id, corrects_version=1, routing=routes)
        shelter = publish_update(
            session,
            DEMO_PIO,
            slug,
            Draft(
                headline="Shelter in place: Riverside",
                body="Residents of the Riverside neighborhood should shelter in place until further notice.",
            ),
            routing=routes,
        )
        retract_update(
            session,
            DEMO_PIO,
            shelter.update.id,
            reason="Issued in error: no shelter-in-place order is in effect.",
            routing=routes,
        )
        publish_update(
            session,
            DEMO_PIO,
            slug,
            Draft(
                headline="One person detained",
                body="One person has been detained. There is no known ongoing threat to the public. "
                "5th Ave remains closed while officers process the scene.",
                preliminary=True,
            ),
            routing=routes,
        )
        if resolve:
            resolve_with_all_clear(
                session,
                DEMO_PIO,
                slug,
                "All clear: 5th Ave has reopened and there is no threat to the public.",
                translations=NO_TRANSLATIONS,
                routing=routes,
            )
    return slug
