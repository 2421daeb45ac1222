"""Email alerts end to end against a real SMTP server (aiosmtpd on 127.0.0.1): ask on the
page, confirm with the button (never by following the link), get each published version once
in one's language with the labels and the RFC 8058 one-click unsubscribe, and stop."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from console.alert_models import AlertDelivery, Subscriber, SubscriberStatus
from console.alerts.content import AlertContent, AlertSource
from console.alerts.email import render_alert as render_email
from console.alerts.email import render_confirmation
from console.alerts.sender import unsubscribe_url
from console.alerts.sms import SmsSender, TwilioTransport
from console.alerts.web_push import WebPushSender
from console.channels.registry import routing as routing_for
from console.channels.subscribers import SubscribersChannel
from console.db import Database
from console.dispatcher import Dispatcher
from console.domain import fanout, subscriptions
from console.domain.details_translations import DetailsTranslationDraft, translate_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, correct_update, publish_update, retract_update
from console.domain.wording import labels
from console.languages import Languages
from console.mail import UNSUBSCRIBE_MARK
from console.models import VersionKind, utcnow
from console.settings import Settings
from console.templating import make_templates
from console.web.app import create_app
from tests.alerts.support import Inbox, ask_for_alerts, form_token, link_in, smtp_server, text_of
from tests.conftest import PIO
from tests.support.factories import bearer, make_token


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server()


@pytest.fixture
def alert_settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    return dataclasses.replace(
        settings,
        channels=("subscribers",),
        languages=("en", "es"),
        smtp_url=Secret(f"smtp://127.0.0.1:{smtp[1]}"),
        mail_from="alerts@police.example",
        public_url="https://police.example",
        subscriber_batch_size=3,
    )


def drain(settings: Settings, db: Database, *, retry_pause: float | None = None) -> None:
    """Deliver what is pending. `retry_pause` shortens the pause (0.5 s, then 1 s) that the
    web push and SMS senders take before trying a push or message again, through the `pause`
    their constructors take (it is not a setting)."""
    channel = SubscribersChannel.from_settings(settings, db)
    if retry_pause is not None:
        for sender in channel.senders:
            if isinstance(sender, WebPushSender):
                sender.pause = retry_pause
            elif isinstance(sender, SmsSender) and isinstance(sender.transport, TwilioTransport):
                sender.transport.pause = retry_pause
    dispatcher = Dispatcher.from_settings(settings, db, {channel.name: channel})
    asyncio.run(dispatcher.drain())


def link_token(url: str) -> str:
    return urlsplit(url).query.removeprefix("token=")


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_subscribe_confirm_publish_correct_unsubscribe(
    alert_settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    routing = routing_for(alert_settings)
    languages = Languages(alert_settings.languages)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        slug = incident.slug
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        # The pages link to the form, in the reader's language.
        assert 'href="/subscribe?lang=es"' in client.get("/?lang=es").text
        incident_page = client.get(f"/incidents/{slug}?lang=en").text
        assert f'href="/subscribe?incident={slug}&amp;lang=en">Get alerts</a>' in incident_page
        assert "Recibir alertas" in client.get("/subscribe?lang=es").text

        assert ask_for_alerts(client, "ana@example.org", lang="es") == 200
        assert ask_for_alerts(client, "ben@example.org", lang="en", incident=slug) == 200
        (confirmation,) = inbox.to("ana@example.org")
        assert confirmation["Subject"] == "Confirme su suscripción a las alertas"
        confirm_link = link_in(text_of(confirmation), "/subscribe/confirm")

        # Asking again within the hour sends nothing more, and answers the same.
        again = client.get("/subscribe")
        assert ask_for_alerts(client, "ana@example.org", lang="es") == 200
        assert len(inbox.to("ana@example.org")) == 1 and again.status_code == 200

        # Following the link (as a mail scanner does) only shows the Confirm button.
        page = client.get(local(confirm_link))
        assert page.status_code == 200
        assert (
            'action="/subscribe/confirm?lang=es"' in page.text
            and f'value="{link_token(confirm_link)}"' in page.text
        )
        with db.read() as session:
            statuses = {s.address: s.status for s in session.scalars(select(Subscriber))}
        assert statuses == {
            "ana@example.org": SubscriberStatus.PENDING,
            "ben@example.org": SubscriberStatus.PENDING,
        }
        token = link_token(confirm_link)
        assert client.post("/subscribe/confirm", data={"token": token}).status_code == 200
        assert client.post("/subscribe/confirm", data={"token": token}).status_code == 404  # used
        with db.read() as session:
            assert (
                session.scalar(select(Subscriber.status).where(Subscriber.address == "ana@example.org"))
                is SubscriberStatus.CONFIRMED
            )

        # Nothing goes to ben: he never confirmed.
        with db.write() as session:
            published = publish_update(
                session, PIO, slug, Draft(body="Evacuate Elm St.", preliminary=True), routing=routing
            )
            update_id = published.update.id
        drain(alert_settings, db)
        (alert,) = inbox.to("ana@example.org")[1:]
        assert len(inbox.to("ben@example.org")) == 1  # the confirmation only
        assert alert["Subject"].startswith("PRELIMINAR: Gas leak")
        assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe_url = str(alert["List-Unsubscribe"]).strip("<>")
        assert unsubscribe_url.startswith("https://police.example/unsubscribe?token=")
        body = text_of(alert)
        # No current Spanish translation: the primary text, with the notice, in Spanish words.
        assert "Evacuate Elm St." in body and "Traducción en actualización" in body
        # Who sends it and where to call (issue 18), the notice in the subscriber's language
        assert alert_settings.agency_name in body and alert_settings.agency_contact in body
        assert "En caso de emergencia, llame al 911." in body
        assert unsubscribe_url in body and unsubscribe_url.replace("&", "&amp;") in text_of(alert, "html")

        # A correction, with a current translation this time: the Spanish text and what changed,
        # under the incident's Spanish title (issue 13.2).
        with db.write() as session:
            translate_details(
                session,
                PIO,
                slug,
                DetailsTranslationDraft(lang="es", title="Fuga de gas"),
                version=1,
                languages=languages,
                routing=routing,
            )
            correct_update(
                session,
                PIO,
                update_id,
                Draft(body="Evacuate Oak St."),
                reason="Wrong street",
                corrects_version=1,
                routing=routing,
                translations=Translations([TranslationDraft("es", "Evacúen la calle Oak.")], languages),
            )
        drain(alert_settings, db)
        drain(alert_settings, db)  # nothing is sent twice
        correction = inbox.to("ana@example.org")[2]
        assert len(inbox.to("ana@example.org")) == 3
        assert correction["Subject"].startswith("CORRECCIÓN: PRELIMINAR: Fuga de gas")
        body = text_of(correction)
        assert "Evacúen la calle Oak." in body and "Qué cambió:" in body and "Evacuate Elm St." in body
        assert "Wrong street" in body
        # its link opens the page in Spanish, whatever language the mail app's browser asks for
        assert f"https://police.example/incidents/{slug}/updates/1?lang=es" in body

        # One click (RFC 8058): the provider POSTs to the link; the address is deleted.
        response = client.post(local(unsubscribe_url), data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        with db.read() as session:
            ana = session.scalars(select(Subscriber).where(Subscriber.lang == "es")).one()
            sent = session.scalars(select(AlertDelivery)).all()
            progress = fanout.progress(session, [row.event_id for row in sent])
        assert ana.status is SubscriberStatus.UNSUBSCRIBED and ana.address is None
        assert [p.line for lines in progress.values() for p in lines if p.channel.value == "email"] == [
            "Email 1 of 1 sent, 0 failed (done)",
            "Email 1 of 1 sent, 0 failed (done)",
        ]
        with db.write() as session:
            publish_update(session, PIO, slug, Draft(body="All clear."), routing=routing)
        drain(alert_settings, db)
        assert len(inbox.to("ana@example.org")) == 3


def test_a_get_never_confirms_and_bad_tokens_are_refused(alert_settings: Settings, db: Database) -> None:
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        assert client.get("/subscribe/confirm?token=nope").status_code == 404
        assert client.post("/subscribe/confirm", data={"token": "nope"}).status_code == 404
        assert client.post("/unsubscribe?token=nope").status_code == 404
        # No CSRF token: refused, nothing stored or sent.
        response = client.post("/subscribe", data={"email": "x@example.org"})
        assert response.status_code == 400 and "The form had expired" in response.text
        assert ask_for_alerts(client, "not an address") == 400
    with db.read() as session:
        assert session.scalars(select(Subscriber)).all() == []


def test_per_ip_limit(alert_settings: Settings, smtp: tuple[Inbox, int]) -> None:
    limited = dataclasses.replace(alert_settings, subscribe_ip_limit=3)
    with TestClient(create_app(limited), base_url="https://police.example") as client:
        codes = [ask_for_alerts(client, f"p{n}@example.org") for n in range(5)]
        assert codes == [200, 200, 200, 429, 429]
    assert smtp[0].count() == 3


def test_a_flood_of_subscriptions_is_bounded_and_publishing_goes_on(
    alert_settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    """50 times SUBSCRIBE_IP_LIMIT subscriptions from one client address, each to a new
    address, while a PIO publishes: at most SUBSCRIBE_IP_LIMIT of them write a row or send a
    message, the rest are refused (429) with nothing written, and every publication during the
    flood goes out. The limit is lowered (from 20) so the flood keeps its 50-fold excess with
    fewer requests."""
    alert_settings = dataclasses.replace(alert_settings, subscribe_ip_limit=4)
    size = 50 * alert_settings.subscribe_ip_limit
    token = make_token(db, "pio")
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        form = form_token(client.get("/subscribe").text)
        slug = client.post("/api/v1/incidents", json={"title": "Flood"}, headers=bearer(token)).json()["slug"]
        flood, published = [], []
        for n in range(size):
            data = {"csrf_token": form, "email": f"f{n}@example.org", "lang": "en"}
            flood.append(client.post("/subscribe", data=data))
            if n % (size // 5) == size // 5 - 1:  # a PIO publishes five times during the flood
                body = {"body": f"Update {n}."}
                published.append(
                    client.post(f"/api/v1/incidents/{slug}/updates", json=body, headers=bearer(token))
                )
    codes = Counter(response.status_code for response in flood)
    assert codes == {200: alert_settings.subscribe_ip_limit, 429: size - alert_settings.subscribe_ip_limit}
    assert [response.status_code for response in published] == [201] * 5
    with db.read() as session:
        assert (
            session.scalar(select(func.count()).select_from(Subscriber)) == alert_settings.subscribe_ip_limit
        )
    assert smtp[0].count() == alert_settings.subscribe_ip_limit


def test_per_address_limit(alert_settings: Settings, smtp: tuple[Inbox, int]) -> None:
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        codes = [ask_for_alerts(client, "same@example.org") for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert smtp[0].count() == 1  # at most one confirmation an hour


def test_incident_subscribers_get_only_their_incident_and_a_retraction_says_so_first(
    alert_settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    routing = routing_for(alert_settings)
    secret = alert_settings.secret_key._value
    with db.write() as session:
        fire, _ = create_incident(session, PIO, IncidentDraft(title="Fire"), routing=routing)
        flood, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)
        fire_slug, flood_slug = fire.slug, flood.slug
        for address, slug in (("all@example.org", ""), ("fire@example.org", fire_slug)):
            asked = subscriptions.subscribe(
                session, secret_key=secret, email=address, lang="en", incident_slug=slug, now=utcnow()
            )
            assert asked is not None
            subscriptions.confirm(session, secret_key=secret, token=asked.token, now=utcnow())
    with db.write() as session:
        update_id = publish_update(
            session, PIO, flood_slug, Draft(body="River rising."), routing=routing
        ).update.id
    drain(alert_settings, db)
    with db.write() as session:
        retract_update(session, PIO, update_id, reason="Sent in error", routing=routing)
    drain(alert_settings, db)
    assert inbox.recipients() == ["all@example.org", "all@example.org"]
    retraction = text_of(inbox.to("all@example.org")[1])
    assert retraction.startswith("RETRACTED: this update was withdrawn.")
    assert "Sent in error" in retraction


def test_the_text_part_keeps_each_part_on_its_own_line(settings: Settings) -> None:
    """The plain-text alert read as a person reads it: the labels on a line of their own above
    the title (not run into it), a blank line between the parts, and the agency's lines under
    the signature line mail programs recognise."""
    correction = AlertContent(
        event_id=1,
        incident_slug="gas-leak",
        incident_title="Gas leak",
        seq=1,
        version=2,
        kind=VersionKind.CORRECTION,
        labels=labels(VersionKind.CORRECTION, preliminary=True),
        lang="en",
        requested_lang="en",
        primary_lang="en",
        title_lang="en",
        headline="Leak at Oak St",
        body="Crews are on scene.",
        reason="Wrong street",
        previous_body="Crews are on Elm St.",
        url="https://police.example/incidents/gas-leak#update-1",
        version_view={},
        instruction="Leave the area now.",
    )
    for agency_url, agency_line in (
        (None, "Example Public Safety Agency"),
        ("https://police.example", "Example Public Safety Agency <https://police.example>"),
    ):
        env = make_templates(dataclasses.replace(settings, agency_url=agency_url)).env
        assert render_email(env, correction).text == (
            "CORRECTION · PRELIMINARY\n"
            "Gas leak\n"
            "\n"
            "What to do: Leave the area now.\n"
            "\n"
            "Leak at Oak St\n"
            "Crews are on scene.\n"
            "\n"
            "What changed:\n"
            'Text before: "Crews are on Elm St."\n'
            "Why: Wrong street\n"
            "\n"
            "Read the update: https://police.example/incidents/gas-leak#update-1\n"
            "\n"
            f"Unsubscribe: {UNSUBSCRIBE_MARK}\n"
            "\n"
            "-- \n"
            f"{agency_line}\n"
            "Press and non-emergency line: not set (AGENCY_CONTACT)\n"
            "In an emergency, call 911.\n"
        )


def test_the_confirmation_text_keeps_each_part_on_its_own_line(settings: Settings) -> None:
    env = make_templates(settings).env
    message = render_confirmation(
        env, lang="en", confirm_url="https://police.example/subscribe/confirm?token=t", incident_title=None
    )
    assert message.text == (
        "Someone, probably you, asked for alerts about: all incidents\n"
        "\n"
        "To start them, open this link and press Confirm (it expires in 48 hours):\n"
        "https://police.example/subscribe/confirm?token=t\n"
        "\n"
        "If it was not you, ignore this message: nothing will be sent.\n"
        "\n"
        "-- \n"
        "Example Public Safety Agency\n"
        "Press and non-emergency line: not set (AGENCY_CONTACT)\n"
        "In an emergency, call 911.\n"
    )


def test_a_resident_who_asked_in_spanish_reads_every_step_in_spanish(
    alert_settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    """The answer to the form is in the language of the page it was sent from; the pages the
    links of the messages open are in the language asked for, even in a browser that prefers
    English and has no cookie of the one the resident asked from (a mail app's, say)."""
    inbox, _ = smtp
    english = {"Accept-Language": "en"}
    with TestClient(create_app(alert_settings), base_url="https://police.example", headers=english) as client:
        for page_lang, address in (("es", "ana@example.org"), ("en", "ben@example.org")):
            page = client.get("/subscribe", params={"lang": page_lang})
            data = {"csrf_token": form_token(page.text), "email": address, "lang": "es", "incident": ""}
            answer = client.post(html.unescape(action_of(page.text, "/subscribe")), data=data)
            assert answer.status_code == 200 and answer.headers["Content-Language"] == page_lang
        # A client that leaves out the form's query: the language asked for.
        page = client.get("/subscribe")
        data = {"csrf_token": form_token(page.text), "email": "cai@example.org", "lang": "es", "incident": ""}
        assert client.post("/subscribe", data=data).headers["Content-Language"] == "es"
    (confirmation,) = inbox.to("ana@example.org")
    assert (
        confirmation["Content-Language"] == "es"
        and inbox.to("ben@example.org")[0]["Content-Language"] == "es"
    )
    confirm_link = link_in(text_of(confirmation), "/subscribe/confirm")
    assert f"{confirm_link}&lang=es" in text_of(confirmation)
    with TestClient(
        create_app(alert_settings), base_url="https://police.example", headers=english
    ) as elsewhere:
        opened = elsewhere.get(local(confirm_link))  # the link without its language: the stored one
        assert opened.headers["Content-Language"] == "es" and '<html lang="es"' in opened.text
        # The page in English keeps its token: the language chooser changes only the language.
        chooser = re.search(r'<a href="([^"]*)" lang="en" hreflang="en"', opened.text)
        assert chooser is not None
        in_english = elsewhere.get(f"/subscribe/confirm{html.unescape(chooser.group(1))}")
        assert in_english.status_code == 200 and in_english.headers["Content-Language"] == "en"
        assert f'value="{link_token(confirm_link)}"' in in_english.text
        action = action_of(opened.text, "/subscribe/confirm")
        confirmed = elsewhere.post(html.unescape(action), data={"token": link_token(confirm_link)})
        assert confirmed.status_code == 200 and confirmed.headers["Content-Language"] == "es"
        with db.read() as session:
            subscriber_id = session.scalar(
                select(Subscriber.id).where(Subscriber.address == "ana@example.org")
            )
        assert subscriber_id is not None
        leave = elsewhere.get(local(unsubscribe_url(alert_settings, subscriber_id)))
        assert leave.status_code == 200 and leave.headers["Content-Language"] == "es"
        token = urlsplit(unsubscribe_url(alert_settings, subscriber_id)).query.removeprefix("token=")
        left = elsewhere.post(html.unescape(action_of(leave.text, "/unsubscribe")), data={"token": token})
        assert left.status_code == 200 and left.headers["Content-Language"] == "es"


def action_of(page: str, path: str) -> str:
    """The action of the page's form that posts to `path` (with its query)."""
    found = re.search(rf'action="({re.escape(path)}(?:\?[^"]*)?)"', page)
    assert found is not None, path
    return found.group(1)


def test_an_unknown_incident_is_named_as_the_problem(alert_settings: Settings, db: Database) -> None:
    with TestClient(create_app(alert_settings), base_url="https://police.example") as client:
        page = client.get("/subscribe", params={"incident": "no-such-incident"})
        data = {
            "csrf_token": form_token(page.text),
            "email": "ana@example.org",
            "incident": "no-such-incident",
        }
        answer = client.post("/subscribe", data=data)
    assert answer.status_code == 400
    assert "names an incident that does not exist" in answer.text
    assert "Enter an email address" not in answer.text
    assert 'value="ana@example.org"' in answer.text  # what was typed stays


def confirmed_subscriber(db: Database, settings: Settings, address: str, lang: str = "en") -> None:
    with db.write() as session:
        asked = subscriptions.subscribe(
            session,
            secret_key=settings.secret_key._value,
            email=address,
            lang=lang,
            incident_slug="",
            now=utcnow(),
        )
        assert asked is not None
        subscriptions.confirm(session, secret_key=settings.secret_key._value, token=asked.token, now=utcnow())


def test_a_retraction_email_strikes_the_withdrawn_text_and_says_why(
    alert_settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    """The retraction shows the withdrawn text struck through (as the live page does), says it
    was retracted and why, and never claims to replace its own text."""
    inbox, _ = smtp
    routing = routing_for(alert_settings)
    confirmed_subscriber(db, alert_settings, "ana@example.org")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)
        update_id = publish_update(
            session, PIO, incident.slug, Draft(headline="Levee breach", body="River rising."), routing=routing
        ).update.id
    drain(alert_settings, db)
    with db.write() as session:
        retract_update(session, PIO, update_id, reason="Sent in error", routing=routing)
    drain(alert_settings, db)
    retraction = inbox.to("ana@example.org")[1]
    text, page = text_of(retraction), text_of(retraction, "html")
    assert text.startswith("RETRACTED: this update was withdrawn.")
    assert "Why: Sent in error\n\nWithdrawn text: Levee breach\nRiver rising.\n" in text
    assert "<del>Levee breach</del>" in page and "<del>River rising.</del>" in page
    assert '<p lang="en">River rising.</p>' not in page, "not shown as a live text"
    assert "Sent in error" in page and "RETRACTED: this update was withdrawn." in page
    for part in (text, page):
        assert "replaces" not in part and "What changed" not in part


def test_a_headline_only_correction_shows_the_old_headline_and_not_the_unchanged_body(
    alert_settings: Settings, db: Database, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    routing = routing_for(alert_settings)
    confirmed_subscriber(db, alert_settings, "ana@example.org")
    confirmed_subscriber(db, alert_settings, "ben@example.org", lang="es")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        update_id = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="Shelter at Lincoln High", body="Bring blankets."),
            routing=routing,
        ).update.id
    drain(alert_settings, db)
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(headline="Shelter at Roosevelt High", body="Bring blankets."),
            reason="Wrong school",
            corrects_version=1,
            routing=routing,
        )
    drain(alert_settings, db)
    correction = inbox.to("ana@example.org")[1]
    text, page = text_of(correction), text_of(correction, "html")
    assert (
        "Shelter at Roosevelt High\nBring blankets.\n\n"
        'What changed:\nHeadline before: "Shelter at Lincoln High"\nWhy: Wrong school\n'
    ) in text
    assert "<p>Headline before: <del>Shelter at Lincoln High</del></p>" in page
    for part in (text, page):
        assert "Text before" not in part and "replaces" not in part
    assert '"Bring blankets."' not in text and "<del>Bring blankets.</del>" not in page
    # In Spanish, the same parts in Spanish words; the English texts (the title, what was
    # replaced, why) say they are English.
    to_ben = inbox.to("ben@example.org")[1]
    spanish, spanish_page = text_of(to_ben), text_of(to_ben, "html")
    assert 'Qué cambió:\nTitular anterior: "Shelter at Lincoln High"\nPor qué: Wrong school\n' in spanish
    assert "Texto anterior" not in spanish
    assert '<html lang="es">' in spanish_page and '<h1 lang="en">Storm</h1>' in spanish_page
    assert '<p>Titular anterior: <del lang="en">Shelter at Lincoln High</del></p>' in spanish_page
    assert '<p>Por qué: <span lang="en">Wrong school</span></p>' in spanish_page
    assert "<h1>Storm</h1>" in page and "<p>Why: <span>Wrong school</span></p>" in page


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (
            Draft(headline="Leak at Oak St", body="Crews are on Oak St."),
            ['Text before: "Crews are on Elm St."'],
        ),
        (
            Draft(headline="Leak at Pine St", body="Crews are on Pine St."),
            ['Headline before: "Leak at Oak St"', 'Text before: "Crews are on Elm St."'],
        ),
        (Draft(headline="Leak at Oak St", body="Crews are on Elm St.", preliminary=False), []),
    ],
    ids=["body", "both", "neither"],
)
def test_a_correction_shows_what_it_replaced_of_each_part_that_changed(
    settings: Settings, db: Database, routing: Routing, after: Draft, expected: list[str]
) -> None:
    languages = Languages(("en",))
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        published = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(headline="Leak at Oak St", body="Crews are on Elm St.", preliminary=True),
            routing=routing,
        )
        corrected = correct_update(
            session, PIO, published.update.id, after, reason="Checked", corrects_version=1, routing=routing
        )
        content = AlertSource(session, corrected.event.event_id, languages, settings.public_url).content("en")
    text = render_email(make_templates(settings).env, content).text
    lines = [
        line for line in text.splitlines() if line.startswith(("What changed", "Headline before", "Text"))
    ]
    assert lines == (["What changed:", *expected] if expected else [])
    assert "Why: Checked" in text


def test_a_retraction_reaches_a_spanish_subscriber_in_the_translation_it_withdraws(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """The withdrawn text in Spanish, struck through, and no "translation being updated": a
    retraction is never translated anew, and the translation of what it withdrew says it."""
    languages = Languages(("en", "es"))
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        published = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="Evacuate Oak St now."),
            translations=Translations([TranslationDraft(lang="es", body="Evacúen Oak St ahora.")], languages),
            routing=routing,
        )
        retracted = retract_update(session, PIO, published.update.id, reason="Wrong street", routing=routing)
        content = AlertSource(session, retracted.event.event_id, languages, settings.public_url).content("es")
    assert (content.lang, content.body, content.translation_pending) == ("es", "Evacúen Oak St ahora.", False)
    email = render_email(make_templates(dataclasses.replace(settings, languages=languages.tags)).env, content)
    assert '<p lang="es"><del>Evacúen Oak St ahora.</del></p>' in email.html
    assert "Evacuate Oak St now." not in email.text and "Traducción en actualización" not in email.text


def _original(body: str, headline: str | None = None) -> AlertContent:
    return AlertContent(
        event_id=1,
        incident_slug="gas-leak",
        incident_title="Gas leak",
        seq=1,
        version=1,
        kind=VersionKind.ORIGINAL,
        labels=["PRELIMINARY"],
        lang="en",
        requested_lang="en",
        primary_lang="en",
        title_lang="en",
        headline=headline,
        body=body,
        reason=None,
        previous_body=None,
        url="https://police.example/incidents/gas-leak#update-1",
        version_view={},
    )


def test_a_subject_without_a_headline_is_cut_between_words_with_an_ellipsis(settings: Settings) -> None:
    env = make_templates(settings).env
    body = (
        "Crews are evacuating residents between Elm Street and Oak Avenue because of a gas leak "
        "near the school."
    )
    subject = render_email(env, _original(body)).subject
    assert subject.startswith("PRELIMINARY: Gas leak: ") and subject.endswith("…")
    shown = subject.removeprefix("PRELIMINARY: Gas leak: ").removesuffix("…")
    assert len(shown) + 1 <= 80 and body.startswith(shown) and body[len(shown)] == " ", "whole words"
    # A body that fits is whole, without an ellipsis; a headline is used as it is.
    assert (
        render_email(env, _original("Crews are on scene.")).subject
        == "PRELIMINARY: Gas leak: Crews are on scene."
    )
    assert render_email(env, _original(body, headline="Gas leak at Elm St")).subject == (
        "PRELIMINARY: Gas leak: Gas leak at Elm St"
    )
    # One word longer than the room is cut inside it, still with the ellipsis.
    long_word = "x" * 120
    subject = render_email(env, _original(long_word)).subject
    assert subject == f"PRELIMINARY: Gas leak: {'x' * 79}…"


def test_an_alert_in_a_language_without_a_catalog_is_an_english_email_marking_the_translated_text(
    settings: Settings,
) -> None:
    env = make_templates(dataclasses.replace(settings, languages=("en", "vi"))).env
    content = dataclasses.replace(
        _original("Sơ tán ngay.", headline="Rò rỉ khí"), lang="vi", requested_lang="vi", title_lang="vi"
    )
    page = render_email(env, content).html
    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert '<h1 lang="vi">Gas leak</h1>' in page and '<p lang="vi">Sơ tán ngay.</p>' in page
    assert "Read the update:" in page  # the email's own words, in English
