"""GET /api/v1/openapi.json: the JSON API described in OpenAPI 3.1, written by hand.

Hand-written so it says what the API promises rather than what a generator guessed from
signatures. `tests/archive/test_openapi.py` keeps it true: every /api/v1 route is described
and every description has a route, and real responses validate against it; `.ci/run` runs
schemathesis against a served app. Adding an API route means adding its entry in `PATHS`
(and its bodies in `console.web.openapi_schemas`).
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain import records
from console.domain.audit_log import ACTION_PATTERN, ACTOR_MAX, FLAGS
from console.models import IncidentStatus
from console.web import openapi_media
from console.web.access import Access, access
from console.web.openapi_schemas import INT32_MAX, SCHEMAS, Schema, ref
from console.web.webhooks_api import LOG_PAGE_DEFAULT, LOG_PAGE_MAX

ERRORS = {
    400: "The body is not a UTF-8 JSON object (`malformed_json`, `invalid_utf8`), or a string in it "
    "holds a lone surrogate (`invalid_unicode`).",
    401: "No token where one is needed, or a wrong or revoked one (`unauthenticated`).",
    403: "The token's role may not do this, or an author decides on their own pending version (`forbidden`).",
    404: "No such incident, update, pending version, delivery or webhook (`not_found`).",
    409: "A stale `corrects_version` or translated `version` (`conflict`, with `current_version` and "
    "`current`; approving a pending version whose base is no longer current too), or not possible now "
    "(`not_allowed`: a pending version already decided).",
    410: "Deleted on purpose (a template, `gone`): its record stays in the audit log.",
    413: "The body is over MAX_REQUEST_BYTES (`too_large`).",
    415: "The body is not `application/json` in UTF-8 (`unsupported_media_type`).",
    422: "A field is missing, blank, too long, of the wrong type or unknown, or leaves a text "
    "direction control (U+202A–U+202E, U+2066–U+2069) open at the end of a line (`invalid_input`; "
    "`fields` names each), or an `Idempotency-Key` already used for a different request "
    "(`idempotency_key_reused`).",
    503: "The database is not answering (`unavailable`); `Retry-After` says when to try again.",
}
WAITING = (
    "With APPROVAL_REQUIRED: nothing is published; the version waits for another PIO or admin "
    "(`status` `pending`; decide with POST /updates/{pending_id}/approval)."
)
Security = list[dict[str, list[str]]]
PUBLIC: Security = [{}, {"bearer": []}]
TOKEN: Security = [{"bearer": []}]
# A success: its status, its schema (a component's name, or the schema itself), its description.
Success = tuple[int, str | Schema, str]
# Every change reads a JSON object (its body, or {} when it takes none): the answers when it is refused.
BODY_ERRORS = (400, 413, 415, 422)


class Described(TypedDict, total=False):
    """What an operation may have besides its answers."""

    body: str
    media_type: str  # of the success, when not JSON
    parameters: list[Schema]
    links: dict[str, Schema]
    waits: bool


def answer(schema: Schema, description: str, media_type: str = "application/json") -> Schema:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def operation(
    operation_id: str,
    summary: str,
    ok: Success,
    *,
    errors: list[int],
    security: Security,
    **described: Unpack[Described],
) -> Schema:
    status, schema, description = ok
    media_type = described.get("media_type", "application/json")
    success = answer(ref(schema) if isinstance(schema, str) else schema, description, media_type)
    if links := described.get("links"):
        success["links"] = links
    responses: Schema = {str(status): success}
    if described.get("waits"):
        responses["202"] = answer(ref("Pending"), WAITING)
    body = described.get("body")
    codes = sorted({*errors, 503})
    responses.update({str(code): answer(ref("Error"), ERRORS[code]) for code in codes})
    spec: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "security": security,
        "responses": responses,
    }
    if parameters := described.get("parameters"):
        spec["parameters"] = parameters
    if body:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return spec


def reading(
    operation_id: str,
    summary: str,
    ok: Success,
    *,
    errors: tuple[int, ...] = (),
    public: bool = False,
    **described: Unpack[Described],
) -> Schema:
    """A read, by anyone when `public`, else with any token; a wrong token is a 401."""
    security = PUBLIC if public else TOKEN
    return operation(operation_id, summary, ok, errors=[401, *errors], security=security, **described)


def writing(
    operation_id: str,
    summary: str,
    ok: Success,
    *,
    errors: tuple[int, ...] = (),
    **described: Unpack[Described],
) -> Schema:
    """A change, made with a token (401) whose role may make it (403), sent as a JSON object: its
    body, or {} when it takes none."""
    codes = [401, 403, *BODY_ERRORS, *errors]
    return operation(operation_id, summary, ok, errors=codes, security=TOKEN, **described)


def changing(
    operation_id: str,
    summary: str,
    ok: Success,
    **described: Unpack[Described],
) -> Schema:
    """A change to what the path names: none is a 404; one it does not allow now is a 409."""
    return writing(operation_id, summary, ok, errors=(404, 409), **described)


def path_parameter(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def id_parameter(name: str) -> Schema:
    return path_parameter(name, {"type": "integer", "minimum": 0, "maximum": INT32_MAX})


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def links(parameter: str, field: str, *operation_ids: str) -> dict[str, Schema]:
    """Links from an answer to the operations that take its `field` as their `parameter`."""
    expression = f"$response.body#/{field}"
    return {
        operation_id[0].upper() + operation_id[1:]: {
            "operationId": operation_id,
            "parameters": {parameter: expression},
        }
        for operation_id in operation_ids
    }


SLUG = path_parameter("slug", {"type": "string"})
TEMPLATE_ID = id_parameter("template_id")
IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "A new random value (a UUID) per request. Sending the request again with the same key "
    "(after a lost answer) returns the first answer, with `Idempotent-Replayed: true`, and publishes "
    "nothing more; kept 24 hours.",
}
UPDATE_ID = id_parameter("update_id")
RUMOR_ID = id_parameter("rumor_id")
MOMENT: Schema = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
AUDIT_FILTERS = [
    query(
        "actor",
        {"type": "string", "minLength": 1, "maxLength": ACTOR_MAX, "pattern": r"\S"},
        "Part of the actor's label, any case (a name, `user 4`, `via api`); not empty or blank.",
    ),
    query(
        "action",
        {"type": "string", "pattern": ACTION_PATTERN},
        "An action (`version.published`) or a prefix ending in `*` (`delivery.*`).",
    ),
    query(
        "incident",
        {"type": "string", "minLength": 1, "pattern": r"\S"},
        "An incident's slug (404 when there is none); not empty or blank.",
    ),
    query(
        "since",
        MOMENT,
        "A day (YYYY-MM-DD, in TIMEZONE) or a time (RFC 3339; one without an offset, as a "
        "datetime-local field sends it, is in TIMEZONE); inclusive.",
    ),
    query(
        "until",
        MOMENT,
        "A day (the whole day is included) or a time (as for `since`); exclusive.",
    ),
    query(
        "hide_deliveries",
        {"type": "string", "enum": list(FLAGS)},
        "`true` (or `1`) leaves out the `delivery.*` events; `false` (or `0`, the default) keeps them.",
    ),
]
PUBLISHED_LINKS = links("update_id", "id", "correctUpdate", "confirmUpdate", "retractUpdate", "getUpdate")
INCIDENT_LINKS = links("slug", "slug", "getIncident", "publishUpdate", "resolveIncident")
PUBLISHED: Success = (
    201,
    "Published",
    "The new version, with its update's id and seq and the public event id.",
)

PATHS: dict[str, dict[str, Schema]] = {
    "/incidents": {
        "get": reading(
            "listIncidents",
            "Incidents, active first, then the most recently changed, a page at a time: pass "
            "`next_cursor` as `cursor` for the next page",
            (200, "IncidentList", "Incidents"),
            errors=(422,),
            public=True,
            parameters=[
                query("status", {"enum": [s.value for s in IncidentStatus]}, "Only this status."),
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": records.INCIDENTS_PAGE_MAX},
                    f"At most this many ({records.INCIDENTS_PAGE_DEFAULT}).",
                ),
                query(
                    "cursor",
                    {"type": "string", "pattern": records.CURSOR_PATTERN},
                    "Where the page starts: the `next_cursor` of the page before.",
                ),
            ],
        ),
        "post": writing(
            "createIncident",
            "Open an incident",
            (201, "CreatedIncident", "The incident, with its slug and CAP defaults"),
            body="IncidentDraft",
            parameters=[IDEMPOTENCY_KEY],
            links=INCIDENT_LINKS,
        ),
    },
    "/incidents/{slug}": {
        "get": reading(
            "getIncident",
            "An incident with every update and version (and deliveries, for authenticated readers)",
            (200, "IncidentRecord", "The incident's record"),
            errors=(404,),
            public=True,
            parameters=[SLUG],
        )
    },
    "/incidents/{slug}/updates": {
        "post": changing(
            "publishUpdate",
            "Publish a new update (PRELIMINARY unless `preliminary: false`)",
            PUBLISHED,
            body="UpdateDraft",
            parameters=[SLUG, IDEMPOTENCY_KEY],
            links=PUBLISHED_LINKS,
            waits=True,
        )
    },
    "/incidents/{slug}/details": {
        "post": changing(
            "changeIncidentDetails",
            "Correct the incident's details (title, summary, location, category, alert status, area, "
            "CAP defaults) as a new details version with a reason; omitted fields stay as they are",
            (201, "ChangedDetails", "The new details version and the public event id"),
            body="DetailsChange",
            parameters=[SLUG, IDEMPOTENCY_KEY],
        )
    },
    "/incidents/{slug}/details/translations": {
        "post": changing(
            "translateIncidentDetails",
            "Translate the incident's title, summary and location into a language of LANGUAGES; "
            "readers of that language get them while they translate the current details",
            (201, "TranslatedDetails", "The translation and the public event id"),
            body="DetailsTranslationDraft",
            parameters=[SLUG, IDEMPOTENCY_KEY],
        )
    },
    "/incidents/{slug}/resolve": {
        "post": changing(
            "resolveIncident",
            "Resolve an incident with an all-clear, published as its final update on every channel "
            "(RESOLVED; CAP responseType AllClear)",
            (200, "ResolvedIncident", "The resolved incident and its all-clear"),
            body="Resolution",
            parameters=[SLUG],
            waits=True,
        )
    },
    "/incidents/{slug}/reopen": {
        "post": changing(
            "reopenIncident",
            "Reopen a resolved incident; the reason is published as an update on every channel (REOPENED)",
            (200, "ReopenedIncident", "The incident, active again, and the published reason"),
            body="Reopening",
            parameters=[SLUG],
        )
    },
    "/incidents/{slug}/pin": {
        "post": changing(
            "pinUpdate",
            "Pin one update as the incident's “What to do now”, shown first on its page, on `/`, at the "
            "head of its feeds and as the CAP `<instruction>`; `seq: null` unpins",
            (200, "Pinned", "What is pinned now, and the public event id"),
            body="Pin",
            parameters=[SLUG],
        )
    },
    "/updates/{update_id}": {
        "get": reading(
            "getUpdate",
            "One update with every version",
            (200, "UpdateRecord", "The update"),
            errors=(404,),
            public=True,
            parameters=[UPDATE_ID],
        )
    },
    **{
        f"/updates/{{update_id}}/{path}": {
            "post": changing(
                operation_id,
                summary,
                PUBLISHED,
                body=body,
                parameters=[UPDATE_ID, IDEMPOTENCY_KEY],
                waits=waits,
            )
        }
        for path, (operation_id, summary, body, waits) in {
            "corrections": (
                "correctUpdate",
                "Publish a correction of the current version",
                "Correction",
                True,
            ),
            "confirmation": (
                "confirmUpdate",
                "Confirm the current version (drops PRELIMINARY)",
                "Confirmation",
                False,
            ),
            "retraction": (
                "retractUpdate",
                "Retract the update (its text stays in the record, struck through)",
                "Retraction",
                True,
            ),
        }.items()
    },
    "/updates/{pending_id}/approval": {
        "post": changing(
            "decideApproval",
            "Approve (publish, as a direct publish would) or return a pending version; pio or admin, "
            "never its author",
            (200, "Decided", "The pending version, `approved` with `published`, or `returned`"),
            body="Decision",
            parameters=[id_parameter("pending_id")],
        )
    },
    "/updates/{update_id}/translations": {
        "post": changing(
            "addTranslation",
            "Add a translation of the update's current version into a language of LANGUAGES",
            (201, "AddedTranslation", "The translation, now shown to readers of its language"),
            body="NewTranslation",
            parameters=[UPDATE_ID, IDEMPOTENCY_KEY],
        )
    },
    "/rumors": {
        "get": reading(
            "listRumors",
            "Rumor responses, most recently published first (the newest 100)",
            (200, "RumorList", "Rumor responses, each with every version"),
            public=True,
        ),
        "post": writing(
            "publishRumor",
            "Publish a rumor response: the claim as it circulates, the verdict and the facts "
            "(per incident, or agency-wide without `incident`); signed, and sent to every channel "
            "labelled RUMOR CONTROL",
            (201, "PublishedRumor", "The rumor response"),
            errors=(404,),
            body="RumorDraft",
            parameters=[IDEMPOTENCY_KEY],
        ),
    },
    "/rumors/{rumor_id}": {
        "get": reading(
            "getRumor",
            "One rumor response with every version",
            (200, "Rumor", "The rumor response"),
            errors=(404,),
            public=True,
            parameters=[RUMOR_ID],
        )
    },
    "/rumors/{rumor_id}/corrections": {
        "post": changing(
            "correctRumor",
            "Correct a rumor response: a new version with a reason, naming the version it corrects",
            (201, "PublishedRumor", "The new version"),
            body="RumorCorrection",
            parameters=[RUMOR_ID, IDEMPOTENCY_KEY],
        )
    },
    "/deliveries/{delivery_id}/retry": {
        "post": changing(
            "retryDelivery",
            "Send a failed delivery back to pending",
            (200, "RetriedDelivery", "The delivery, now pending"),
            parameters=[id_parameter("delivery_id")],
        )
    },
    "/live": {
        "get": reading(
            "liveStatus",
            "This server process's live stream: residents connected, newest event pushed (any token)",
            (200, "LiveStatus", "The answering process's live stream"),
        )
    },
    "/channels": {
        "get": reading(
            "listChannels",
            "Every enabled channel: running, in preview, or paused with the error (any account's token)",
            (200, "ChannelList", "The channels, in the order of CHANNELS"),
        )
    },
    "/channels/{channel}/resume": {
        "post": changing(
            "resumeChannel",
            "Resume a channel paused because its network rejected the credentials",
            (200, "Channel", "The channel, delivering again"),
            parameters=[path_parameter("channel", {"type": "string", "maxLength": 32})],
        )
    },
    "/templates": {
        "get": reading(
            "listTemplates",
            "The templates (holding statements) not deleted, each with its current version, by name",
            (200, "TemplateList", "Every template"),
        ),
        "post": writing(
            "createTemplate",
            "Write a template: a holding statement with placeholders such as {location} (admin token)",
            (201, "Template", "The template, at version 1"),
            body="TemplateDraft",
        ),
    },
    "/templates/{template_id}": {
        "get": reading(
            "getTemplate",
            "A template's current version and every earlier one; 410 once it is deleted",
            (200, "TemplateRecord", "The template and its versions, oldest first"),
            errors=(404, 410),
            parameters=[TEMPLATE_ID],
        ),
        "delete": changing(
            "deleteTemplate",
            "Delete a template: no longer offered; its versions, and what was published from them, stay "
            "(admin token)",
            (200, "Template", "The template, marked deleted"),
            parameters=[TEMPLATE_ID],
        ),
    },
    "/templates/{template_id}/versions": {
        "post": changing(
            "reviseTemplate",
            "Revise a template: a new version, never an edit (admin token); 409 when another admin revised "
            "it since `corrects_version`",
            (201, "Template", "The template at its new version"),
            body="TemplateRevision",
            parameters=[TEMPLATE_ID],
        )
    },
    "/webhooks": {
        "post": writing(
            "registerWebhook",
            "Register a partner's webhook endpoint: every published version is POSTed to it, signed "
            "per Standard Webhooks (admin token)",
            (201, "RegisteredWebhook", "Registered; its `secret` is shown this once"),
            errors=(422,),
            body="WebhookDraft",
        ),
        "get": reading(
            "listWebhooks",
            "The registered webhook endpoints, without their secrets (admin token)",
            (200, "WebhookList", "Every endpoint, oldest first"),
            errors=(403,),
        ),
    },
    "/webhooks/{webhook_id}": {
        "get": reading(
            "getWebhook",
            "One registered webhook endpoint, without its secret (admin token); the `Location` of its "
            "registration",
            (200, "Webhook", "The endpoint"),
            errors=(403, 404),
            parameters=[id_parameter("webhook_id")],
        )
    },
    "/webhooks/{webhook_id}/deliveries": {
        "get": reading(
            "webhookDeliveries",
            "One webhook endpoint's delivery log, newest event first, a page at a time: pass "
            "`next_before` as `before` for the next page (admin token)",
            (200, "WebhookLog", "The endpoint and one page of its deliveries"),
            errors=(403, 404, 422),
            parameters=[
                id_parameter("webhook_id"),
                query(
                    "before",
                    {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                    "Deliveries of events before this event id: the `next_before` of the page before.",
                ),
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": LOG_PAGE_MAX},
                    f"At most this many ({LOG_PAGE_DEFAULT}).",
                ),
            ],
        )
    },
    "/audit": {
        "get": reading(
            "listAuditEvents",
            "The audit log, newest first (reviewer and admin tokens)",
            (200, "AuditPage", "Matching events; pass `next_before` as `before` for older ones"),
            errors=(403, 404, 422),
            parameters=[
                *AUDIT_FILTERS,
                query(
                    "before",
                    {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                    "Events before this one.",
                ),
                query(
                    "limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "At most this many (100)."
                ),
            ],
        )
    },
    "/audit.csv": {
        "get": operation(
            "exportAuditEvents",
            "Every matching audit event as CSV, newest first (reviewer and admin tokens); `before` "
            "and `limit` page nothing here, and a malformed one is refused (422) as in listAuditEvents",
            (200, {"type": "string"}, "CSV: " + ", ".join(("seq", "occurred_at", "actor", "…", "hash"))),
            errors=[401, 403, 404, 422],
            security=TOKEN,
            media_type="text/csv",
            parameters=AUDIT_FILTERS,
        )
    },
    "/audit/chain": {
        "get": reading(
            "auditChainStatus",
            "Verify the whole audit chain and every version now (reviewer and admin tokens)",
            (200, "ChainStatus", "`verified through event N`, or the first broken row"),
            errors=(403,),
        )
    },
    "/openapi.json": {
        "get": operation(
            "openapi",
            "This description",
            (200, {"type": "object"}, "OpenAPI 3.1"),
            errors=[],
            security=PUBLIC,
        )
    },
}
PATHS.update(openapi_media.PATHS)


def build_spec() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Incident update console API",
            "version": "1",
            "description": "Versioned incident updates: publish, correct, confirm, retract; read the "
            "public record; reviewers read the audit log. Errors are "
            '`{"error": {"code", "message", "fields"?}}` and nothing is written when one is returned.',
        },
        "servers": [{"url": "/api/v1"}],  # relative to this document: true on every deployment
        "paths": PATHS,
        "components": {
            "schemas": openapi_media.with_media(SCHEMAS),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`console tokens create --email E`: pio and admin tokens write; "
                    "reviewer tokens read everything, including deliveries and the audit log.",
                }
            },
        },
    }


@access(Access.PUBLIC)
async def openapi_json(request: Request) -> Response:
    return JSONResponse(build_spec())


def routes() -> list[BaseRoute]:
    return [Route("/openapi.json", openapi_json, methods=["GET"])]
