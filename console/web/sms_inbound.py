"""`POST /sms/inbound` (issue 16): the messages residents send to TWILIO_FROM, as Twilio
forwards them (form-encoded, signed in `X-Twilio-Signature` with the auth token over
PUBLIC_URL + path and the form). STOP and its synonyms end every SMS subscription of the
sender's number; HELP says who sends these and how to stop; START says how to subscribe
(Twilio lifts its carrier-level block itself). The answer is TwiML.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from console.domain import subscriptions
from console.domain.errors import InvalidInput
from console.web.access import Access, access
from console.web.staff.forms import read_form
from console.web.state import app_state

PATH = "/sms/inbound"
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def _twiml(reply: str | None) -> Response:
    twiml = MessagingResponse()
    if reply is not None:
        twiml.message(reply)
    return Response(str(twiml), media_type="application/xml")


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
    words = params.get("Body", "").strip().upper().split()
    command = words[0] if words else ""
    subscribe_url = f"{settings.public_url}/subscribe"
    if command in STOP_WORDS:
        try:
            phone = subscriptions.normalized_phone(params.get("From", ""))
        except InvalidInput:
            return _twiml(None)
        now = state.clock()
        secret = settings.secret_key._value
        await state.write(
            lambda session: subscriptions.stop_sms(session, secret_key=secret, phone=phone, now=now)
        )
        return _twiml(None)  # Twilio confirms the opt-out to the sender itself
    if command in START_WORDS:
        return _twiml(f"{settings.agency_name}: to get alerts by SMS, subscribe at {subscribe_url}")
    if command in HELP_WORDS:
        return _twiml(
            f"{settings.agency_name} incident alerts. Reply STOP to stop. Subscribe at {subscribe_url}"
        )
    return _twiml(None)


def routes() -> list[BaseRoute]:
    return [Route(PATH, inbound, methods=["POST"])]
