"""`POST /sms/inbound` (issue 16): the messages residents send to TWILIO_FROM, as Twilio
forwards them (form-encoded, signed in `X-Twilio-Signature` with the auth token over
PUBLIC_URL + path and the form). STOP and its synonyms end every SMS subscription of the
sender's number; HELP says who sends these and how to stop; START says how to subscribe
(Twilio lifts its carrier-level block itself). The answer is TwiML.

Each message is acted on once. Its MessageSid is recorded (`inbound_sms_seen`) in the same
transaction as what it does, under a unique constraint: a webhook Twilio retries, or a signed
request an attacker captured and sends again (Twilio's signature has no timestamp), is answered
with empty TwiML and changes nothing, not even a second HELP reply. Two deliveries at once
cannot both act: the second insert fails. MessageSids older than SEEN_KEPT are pruned as new
messages arrive; a replay older than that is acted on again (a STOP would end a subscription
made since), which is why the window is long: the rows are small.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from console.domain import subscriptions
from console.domain.errors import InvalidInput
from console.models import InboundSmsSeen
from console.web.access import Access, access
from console.web.staff.forms import read_form
from console.web.state import app_state

PATH = "/sms/inbound"
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
# How long a MessageSid is remembered: a replay within it changes nothing.
SEEN_KEPT = timedelta(days=30)
# Twilio's: SM (MM for MMS) and 32 hex digits. Nothing else is taken for one. Twilio signs each
# parameter's name and value run together in name order, so a replay that moves the boundary
# between two parameters ("SM…" + "To" + its value, To gone) is still signed: a MessageSid of any
# other shape would be a new one under the same signature, and the message acted on again.
MESSAGE_SID = re.compile(r"[SM]M[0-9a-f]{32}")


def _twiml(reply: str | None) -> Response:
    twiml = MessagingResponse()
    if reply is not None:
        twiml.message(reply)
    return Response(str(twiml), media_type="application/xml")


def _first_time(
    session: Session, message_sid: str, now: datetime, effect: Callable[[Session], object] | None
) -> bool:
    """Record `message_sid` and run `effect`, in the caller's transaction; False, with nothing
    done, when the message was seen before. Prunes what is past SEEN_KEPT on the way."""
    session.execute(delete(InboundSmsSeen).where(InboundSmsSeen.received_at < now - SEEN_KEPT))
    seen = session.scalar(select(InboundSmsSeen.id).where(InboundSmsSeen.message_sid == message_sid))
    if seen is not None:
        return False
    session.add(InboundSmsSeen(message_sid=message_sid, received_at=now))
    session.flush()  # the unique constraint, before the effect
    if effect is not None:
        effect(session)
    return True


@access(Access.PUBLIC)  # the Twilio signature is the authority
async def inbound(request: Request) -> Response:
    state = app_state(request)
    settings = state.settings
    form = await read_form(request)  # no files; bytes that are not UTF-8 refused
    params = {key: value for key, value in form.data.items() if isinstance(value, str)}
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio_auth_token
    if token is None or not RequestValidator(str(token)).validate(
        settings.public_url + PATH, params, signature
    ):
        return Response("The request is not signed by Twilio.", status_code=403)
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if not MESSAGE_SID.fullmatch(message_sid):
        return _twiml(None)  # Twilio always names its message so: nothing to act on once
    words = params.get("Body", "").strip().upper().split()
    command = words[0] if words else ""
    subscribe_url = f"{settings.public_url}/subscribe"
    now = state.clock()
    effect: Callable[[Session], object] | None = None
    reply: str | None = None
    if command in STOP_WORDS:
        try:
            phone = subscriptions.normalized_phone(params.get("From", ""))
        except InvalidInput:
            phone = None
        if phone is not None:
            secret = settings.secret_key._value

            def effect(session: Session) -> object:
                return subscriptions.stop_sms(session, secret_key=secret, phone=phone, now=now)

        # no reply: Twilio confirms the opt-out to the sender itself
    elif command in START_WORDS:
        reply = f"{settings.agency_name}: to get alerts by SMS, subscribe at {subscribe_url}"
    elif command in HELP_WORDS:
        reply = f"{settings.agency_name} incident alerts. Reply STOP to stop. Subscribe at {subscribe_url}"
    try:
        first = await state.write(lambda session: _first_time(session, message_sid, now, effect))
    except IntegrityError:  # the same message delivered twice at once: the other one acts
        first = False
    return _twiml(reply if first else None)


def routes() -> list[BaseRoute]:
    return [Route(PATH, inbound, methods=["POST"])]
