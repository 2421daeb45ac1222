"""The update card: current text, PRELIMINARY in words, and every notice, rendered inert."""

from __future__ import annotations

from markupsafe import Markup

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident, get_incident
from console.domain.outbox import Routing
from console.domain.timeline import incident_cards
from console.domain.updates import Draft, confirm_update, correct_update, publish_update
from console.settings import Settings
from console.templating import make_templates, paragraphs
from tests.conftest import PIO
from tests.support.records import publish_sample


def render_card(settings: Settings, card: object) -> str:
    env = make_templates(settings).env
    macro = env.get_template("partials/update_card.html").module.update_card  # type: ignore[attr-defined]
    return str(macro(card, "/incidents/gas-leak/history"))


def test_a_retracted_and_corrected_update_shows_every_notice(
    db: Database, routing: Routing, settings: Settings
) -> None:
    slug = publish_sample(db, routing)
    with db.read() as session:
        [card] = incident_cards(session, get_incident(session, slug))
    assert (card.version, card.body, card.preliminary) == (4, "Elm St evacuated.", False)
    assert card.corrected is not None and card.corrected.reason == "Wrong street"
    assert card.retracted is not None and card.retracted.reason == "All clear given in error"
    html = render_card(settings, card)
    assert 'id="update-1"' in html
    assert '<strong class="badge badge--retracted">RETRACTED</strong>' in html
    assert '<del class="update__withdrawn">' in html and "Elm St evacuated." in html
    assert "Retracted <time datetime=" in html and "— All clear given in error" in html
    assert "Corrected <time datetime=" in html and "— Wrong street" in html
    # "What changed" lands on the correction (version 2), not on the update's first version
    assert 'href="/incidents/gas-leak/history#update-1-v2"' in html


def test_an_update_marked_preliminary_again_is_not_shown_confirmed(
    db: Database, routing: Routing, settings: Settings
) -> None:
    """Confirmed, then corrected back to PRELIMINARY: the card says PRELIMINARY, as every other
    channel does, and no longer "Confirmed"; confirmed again, it says so again."""
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        update = publish_update(session, PIO, incident.slug, Draft(body="Leak on Elm St."), routing=routing)
        update_id = update.update.id
        confirm_update(session, PIO, update_id, corrects_version=1, routing=routing)
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Leak on Elm St or Oak St.", preliminary=True),
            reason="Location unclear again",
            corrects_version=2,
            routing=routing,
        )
    with db.read() as session:
        [again_preliminary] = incident_cards(session, get_incident(session, incident.slug))
    html = render_card(settings, again_preliminary)
    assert again_preliminary.confirmed is None and "PRELIMINARY" in html and "Confirmed" not in html
    with db.write() as session:
        confirm_update(session, PIO, update_id, corrects_version=3, routing=routing)
    with db.read() as session:
        [confirmed] = incident_cards(session, get_incident(session, incident.slug))
    assert confirmed.confirmed is not None and "Confirmed <time" in render_card(settings, confirmed)


def test_markup_in_text_is_rendered_inert(db: Database, routing: Routing, settings: Settings) -> None:
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="<b>x</b>"), routing=routing)
        publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="<script>alert(1)</script>", body="<img src=x onerror=alert(1)>\nline two"),
            routing=routing,
        )
    with db.read() as session:
        [card] = incident_cards(session, get_incident(session, incident.slug))
    html = render_card(settings, card)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;<br>line two" in html
    assert '<strong class="badge badge--preliminary">PRELIMINARY</strong>' in html


def test_paragraphs() -> None:
    assert paragraphs("one\ntwo\n\n\nthree & <four>") == Markup(
        "<p>one<br>two</p><p>three &amp; &lt;four&gt;</p>"
    )
