"""Subscribing, double opt-in and unsubscribing (issue 16), browsers' push subscriptions,
and partners' webhook endpoints.

SMS subscriptions are confirmed by a 6-digit code sent by SMS instead of a link: only an
HMAC of it (keyed with SECRET_KEY, since a plain hash of 6 digits is reversed at once) is
kept, it expires after SMS_CODE_LIFETIME, and CODE_ATTEMPTS wrong guesses void it.

Tokens in links are never stored: the confirmation token is random and only its SHA-256 is
kept; the unsubscribe token is derived from SECRET_KEY and the subscriber id (so every
message can carry it) and is looked up by its SHA-256 too. Unsubscribing deletes the
address; a keyed hash of it stays, only so that nothing is sent to it again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.alert_models import AlertChannel, Subscriber, SubscriberStatus
from console.domain import audit
from console.domain.actors import Actor, require_admin
from console.domain.errors import InvalidInput, NotAllowed
from console.domain.subscriber_location import Location, forget_location, locate
from console.models import Incident

CONFIRM_LIFETIME = timedelta(hours=48)  # confirmation links expire after this
CONFIRM_INTERVAL = timedelta(hours=1)  # at most one confirmation message per address in this
# ASCII only (atext and dots): the address goes into a header as it is, so no CR, LF or space.
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
MAX_EMAIL = 254
PHONE = re.compile(r"\+[0-9]{8,15}")  # E.164
PHONE_SEPARATORS = str.maketrans("", "", " -().")  # as people write numbers; not stored
SMS_CODE_LIFETIME = timedelta(hours=1)
CODE_ATTEMPTS = 5  # wrong guesses before a code is void


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def address_hash(secret_key: str, channel: AlertChannel, address: str) -> str:
    message = f"{channel.value}:{address}".encode()
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def unsubscribe_token(secret_key: str, subscriber_id: int) -> str:
    digest = hmac.new(secret_key.encode("utf-8"), f"unsubscribe:{subscriber_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def normalized_email(text: str) -> str:
    email = text.strip()
    local, _, domain = email.rpartition("@")
    email = f"{local}@{domain.lower()}"
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        raise InvalidInput({"email": "Enter an email address such as name@example.org."})
    return email


def normalized_phone(text: str) -> str:
    phone = text.strip().translate(PHONE_SEPARATORS)
    if not PHONE.fullmatch(phone):
        raise InvalidInput({"phone": "Enter a phone number in international format, such as +15551234567."})
    return phone


def code_hash(secret_key: str, subscriber_id: int, code: str) -> str:
    message = f"sms-code:{subscriber_id}:{code}".encode()
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def incident_by_slug(session: Session, slug: str) -> Incident | None:
    """The incident a subscription is for (None: every incident)."""
    if not slug:
        return None
    incident = session.scalar(select(Incident).where(Incident.slug == slug))
    if incident is None:
        raise InvalidInput({"incident": f"There is no incident {slug!r}."})
    return incident


@dataclass(frozen=True)
class Confirmation:
    """A confirmation message to send: its link carries `token`."""

    subscriber_id: int
    address: str
    lang: str
    token: str
    incident_title: str | None
    location: Location | None = None  # only alerts for this location (issue 17)


def _subscription(
    session: Session, channel: AlertChannel, keyed: str, incident: Incident | None
) -> Subscriber | None:
    return session.scalar(
        select(Subscriber).where(
            Subscriber.channel == channel,
            Subscriber.address_hash == keyed,
            Subscriber.incident_id.is_(None) if incident is None else Subscriber.incident_id == incident.id,
        )
    )


def _asking_again(
    session: Session, channel: AlertChannel, keyed: str, incident: Incident | None, now: datetime
) -> Subscriber | None:
    """The subscription to (re)send a confirmation for; None when no message goes out:
    already confirmed, or a confirmation was sent within the hour."""
    subscriber = _subscription(session, channel, keyed, incident)
    if subscriber is not None:
        if subscriber.status is SubscriberStatus.CONFIRMED:
            return None
        sent = subscriber.confirmation_sent_at
        if sent is not None and now - sent < CONFIRM_INTERVAL:
            return None
        return subscriber
    subscriber = Subscriber(
        channel=channel, address_hash=keyed, incident_id=incident.id if incident else None, created_at=now
    )
    session.add(subscriber)
    return subscriber


def subscribe(
    session: Session,
    *,
    secret_key: str,
    email: str,
    lang: str,
    incident_slug: str,
    now: datetime,
    location: Location | None = None,
) -> Confirmation | None:
    """Ask for email alerts (only for `location`, if given: issue 17). None when no message
    goes out: already confirmed, or a confirmation was sent within the hour. The caller answers
    the same either way. A confirmed subscription's location changes only by subscribing
    again after unsubscribing: nobody can narrow someone else's alerts."""
    address = normalized_email(email)
    incident = incident_by_slug(session, incident_slug)
    keyed = address_hash(secret_key, AlertChannel.EMAIL, address.lower())
    subscriber = _asking_again(session, AlertChannel.EMAIL, keyed, incident, now)
    if subscriber is None:
        return None
    token = secrets.token_urlsafe(32)
    subscriber.address = address
    subscriber.lang = lang
    locate(subscriber, location)
    subscriber.status = SubscriberStatus.PENDING
    subscriber.confirm_token_hash = token_hash(token)
    subscriber.confirmation_sent_at = now
    subscriber.unsubscribed_at = None
    session.flush()
    return Confirmation(subscriber.id, address, lang, token, incident.title if incident else None, location)


@dataclass(frozen=True)
class SmsCode:
    """A confirmation code to send by SMS to `phone`."""

    subscriber_id: int
    phone: str
    lang: str
    code: str


class PrefixRefused(InvalidInput):
    """The number is outside SMS_ALLOWED_PREFIXES."""


class CodesExhausted(NotAllowed):
    """SMS_CODES_PER_HOUR codes went out in the last hour: no more until some are an hour old."""


def subscribe_sms(
    session: Session,
    *,
    secret_key: str,
    phone: str,
    lang: str,
    incident_slug: str,
    now: datetime,
    allowed_prefixes: Sequence[str] = (),
    codes_per_hour: int | None = None,
    location: Location | None = None,
) -> SmsCode | None:
    """Ask for SMS alerts: a new code (and a reset count of wrong guesses). None when no
    message goes out, as for email; the caller answers the same either way. A number outside
    `allowed_prefixes` is refused (InvalidInput), and past `codes_per_hour` codes in the last
    hour, agency-wide, CodesExhausted: SMS costs the agency per message."""
    number = normalized_phone(phone)
    if allowed_prefixes and not number.startswith(tuple(allowed_prefixes)):
        allowed = ", ".join(allowed_prefixes)
        raise PrefixRefused({"phone": f"Alerts by SMS go to numbers starting with {allowed} only."})
    incident = incident_by_slug(session, incident_slug)
    if codes_per_hour is not None:
        sent = session.scalar(
            select(func.count())
            .select_from(Subscriber)
            .where(
                Subscriber.channel == AlertChannel.SMS,
                Subscriber.confirmation_sent_at > now - timedelta(hours=1),
            )
        )
        if (sent or 0) >= codes_per_hour:
            raise CodesExhausted("too many confirmation codes were sent in the last hour")
    subscriber = _asking_again(
        session, AlertChannel.SMS, address_hash(secret_key, AlertChannel.SMS, number), incident, now
    )
    if subscriber is None:
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    subscriber.address = number
    subscriber.lang = lang
    locate(subscriber, location)
    subscriber.status = SubscriberStatus.PENDING
    subscriber.confirmation_sent_at = now
    subscriber.unsubscribed_at = None
    subscriber.confirm_attempts = 0
    session.flush()  # the id is part of the code's hash
    subscriber.confirm_token_hash = code_hash(secret_key, subscriber.id, code)
    return SmsCode(subscriber.id, number, lang, code)


def confirm_sms(
    session: Session, *, secret_key: str, phone: str, incident_slug: str, code: str, now: datetime
) -> Subscriber | None:
    """Confirm an SMS subscription by its code; None when the code is wrong, expired or void
    (a wrong guess is counted: the caller commits either way)."""
    try:
        number = normalized_phone(phone)
        incident = incident_by_slug(session, incident_slug)
    except InvalidInput:
        return None
    subscriber = _subscription(
        session, AlertChannel.SMS, address_hash(secret_key, AlertChannel.SMS, number), incident
    )
    if subscriber is None or subscriber.status is not SubscriberStatus.PENDING:
        return None
    sent, stored = subscriber.confirmation_sent_at, subscriber.confirm_token_hash
    if stored is None or sent is None or now - sent > SMS_CODE_LIFETIME:
        return None
    if not hmac.compare_digest(code_hash(secret_key, subscriber.id, code.strip()[:20]), stored):
        subscriber.confirm_attempts += 1
        if subscriber.confirm_attempts >= CODE_ATTEMPTS:
            subscriber.confirm_token_hash = None  # void: ask again (within the hourly limit)
        return None
    subscriber.confirm_attempts = 0
    _opted_in(subscriber, secret_key, now)
    return subscriber


def stop_sms(session: Session, *, secret_key: str, phone: str, now: datetime) -> int:
    """STOP from a phone: every SMS subscription of that number ends (the address is
    deleted, its keyed hash stays). How many there were."""
    keyed = address_hash(secret_key, AlertChannel.SMS, phone)
    subscribers = session.scalars(
        select(Subscriber).where(
            Subscriber.channel == AlertChannel.SMS,
            Subscriber.address_hash == keyed,
            Subscriber.status != SubscriberStatus.UNSUBSCRIBED,
        )
    ).all()
    for subscriber in subscribers:
        _unsubscribed(subscriber, now)
    return len(subscribers)


def unsubscribe_gone(session: Session, subscriber_ids: Sequence[int], *, now: datetime) -> None:
    """The provider says these addresses are gone: a push service's 404 or 410, or Twilio's
    error 21610 (the recipient replied STOP to the carrier)."""
    for subscriber in session.scalars(
        select(Subscriber).where(
            Subscriber.id.in_(list(subscriber_ids)), Subscriber.status != SubscriberStatus.UNSUBSCRIBED
        )
    ):
        _unsubscribed(subscriber, now)


def _opted_in(subscriber: Subscriber, secret_key: str, now: datetime) -> None:
    """The opt-in is confirmed (by link or by code): its token is spent, and the subscription
    gets its own unsubscribe token."""
    subscriber.status = SubscriberStatus.CONFIRMED
    subscriber.confirmed_at = now
    subscriber.confirm_token_hash = None
    subscriber.unsubscribe_token_hash = token_hash(unsubscribe_token(secret_key, subscriber.id))


def _unsubscribed(subscriber: Subscriber, now: datetime) -> None:
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.address = None  # deleted; address_hash stays to suppress re-sends
    subscriber.push_keys = None
    forget_location(subscriber)  # deleted with the address (issue 17)
    subscriber.unsubscribed_at = now
    subscriber.confirm_token_hash = None


def pending_by_token(session: Session, token: str, *, now: datetime) -> Subscriber | None:
    """The subscription a confirmation link is for, while the link is valid."""
    if not token or len(token) > 100:
        return None
    subscriber = session.scalar(select(Subscriber).where(Subscriber.confirm_token_hash == token_hash(token)))
    if subscriber is None or subscriber.status is not SubscriberStatus.PENDING:
        return None
    sent = subscriber.confirmation_sent_at
    if sent is None or now - sent > CONFIRM_LIFETIME:
        return None
    return subscriber


def confirm(session: Session, *, secret_key: str, token: str, now: datetime) -> Subscriber | None:
    subscriber = pending_by_token(session, token, now=now)
    if subscriber is None:
        return None
    _opted_in(subscriber, secret_key, now)
    return subscriber


def by_unsubscribe_token(session: Session, token: str) -> Subscriber | None:
    if not token or len(token) > 100:
        return None
    return session.scalar(select(Subscriber).where(Subscriber.unsubscribe_token_hash == token_hash(token)))


def unsubscribe(session: Session, *, token: str, now: datetime) -> bool:
    """True when the token named a subscription (it is unsubscribed now, or was already)."""
    subscriber = by_unsubscribe_token(session, token)
    if subscriber is None:
        return False
    if subscriber.status is not SubscriberStatus.UNSUBSCRIBED:
        _unsubscribed(subscriber, now)
    return True


def subscriber_counts(session: Session) -> Counter[tuple[str, str]]:
    """Confirmed subscribers per (channel, language): counts only, never addresses."""
    rows = session.execute(
        select(Subscriber.channel, Subscriber.lang, func.count())
        .where(Subscriber.status == SubscriberStatus.CONFIRMED)
        .group_by(Subscriber.channel, Subscriber.lang)
    )
    return Counter({(channel.value, lang): count for channel, lang, count in rows})


def _key_bytes(value: str, size: int) -> bytes | None:
    """A base64url key of exactly `size` bytes (padding optional, as browsers omit it), or None."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size and re.fullmatch(r"[A-Za-z0-9_-]+=*", value) else None


def push_key_problems(p256dh: str, auth: str) -> dict[str, str]:
    """What is wrong with a push subscription's keys, by field (`keys.p256dh`, `keys.auth`)."""
    problems = {}
    point = _key_bytes(p256dh, 65)
    try:
        if point is None or point[0] != 4:  # uncompressed, as PushSubscription.toJSON() gives it
            raise ValueError("not an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        problems["keys.p256dh"] = "must be an uncompressed P-256 public key (65 bytes in base64url)"
    if _key_bytes(auth, 16) is None:
        problems["keys.auth"] = "must be 16 bytes in base64url"
    return problems


def subscribe_push(
    session: Session,
    *,
    secret_key: str,
    endpoint: str,
    p256dh: str,
    auth: str,
    lang: str,
    incident_slug: str,
    now: datetime,
    location: Location | None = None,
) -> Subscriber:
    """A browser's push subscription, confirmed at once: the browser's permission prompt was
    the opt-in. Subscribing the same endpoint again (to the same incident or to all) updates
    its keys, language and location (only that browser knows its endpoint). The caller checks
    the endpoint may be sent to."""
    if problems := push_key_problems(p256dh, auth):
        raise InvalidInput(problems)
    incident = incident_by_slug(session, incident_slug)
    keyed = address_hash(secret_key, AlertChannel.PUSH, endpoint)
    subscriber = session.scalar(
        select(Subscriber).where(
            Subscriber.channel == AlertChannel.PUSH,
            Subscriber.address_hash == keyed,
            Subscriber.incident_id.is_(None) if incident is None else Subscriber.incident_id == incident.id,
        )
    )
    if subscriber is None:
        subscriber = Subscriber(
            channel=AlertChannel.PUSH,
            address_hash=keyed,
            incident_id=incident.id if incident else None,
            created_at=now,
        )
        session.add(subscriber)
    subscriber.address = endpoint
    subscriber.push_keys = json.dumps({"p256dh": p256dh, "auth": auth})
    subscriber.lang = lang
    locate(subscriber, location)
    if subscriber.status is not SubscriberStatus.CONFIRMED:
        subscriber.status = SubscriberStatus.CONFIRMED
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
    session.flush()
    return subscriber


@dataclass(frozen=True)
class RegisteredWebhook:
    subscriber: Subscriber
    secret: str  # shown once


def register_webhook(
    session: Session,
    actor: Actor,
    *,
    secret_key: str,
    url: str,
    description: str | None,
    incident_slug: str,
    lang: str,
    now: datetime,
) -> RegisteredWebhook:
    """An admin registers a partner's endpoint; it is confirmed at once (no opt-in by email).
    The caller checks the URL is allowed (`console.alerts.targets`)."""
    require_admin(actor)
    incident = incident_by_slug(session, incident_slug)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    subscriber = Subscriber(
        channel=AlertChannel.WEBHOOK,
        address=url,
        address_hash=address_hash(secret_key, AlertChannel.WEBHOOK, url),
        incident_id=incident.id if incident else None,
        lang=lang,
        status=SubscriberStatus.CONFIRMED,
        created_at=now,
        confirmed_at=now,
        secret=secret,
        description=description,
    )
    session.add(subscriber)
    session.flush()
    audit.record(
        session,
        actor,
        "webhook.registered",
        f"webhook {subscriber.id}",
        incident_id=subscriber.incident_id,
        now=now,
        data={"webhook_id": subscriber.id, "url": url, "description": description},
    )
    return RegisteredWebhook(subscriber, secret)


def webhooks(session: Session) -> list[Subscriber]:
    return list(
        session.scalars(
            select(Subscriber)
            .where(
                Subscriber.channel == AlertChannel.WEBHOOK, Subscriber.status == SubscriberStatus.CONFIRMED
            )
            .order_by(Subscriber.id)
        )
    )
