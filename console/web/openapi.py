"""GET /api/v1/openapi.json: the JSON API described in OpenAPI 3.1, written by hand.

Hand-written so it says what the API promises rather than what a generator guessed from
signatures. `tests/archive/test_openapi.py` keeps it true: every /api/v1 route is described
and every description has a route, and real responses validate against it; `.ci/run` runs
schemathesis against a served app. Adding an API route means adding its entry in `PATHS`
(and its bodies in `console.web.openapi_schemas`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain.audit_log import ACTION_PATTERN, ACTOR_MAX, FLAGS
from console.models import IncidentStatus
from console.web import openapi_media
from console.web.access import Access, access
from console.web.openapi_schemas import INT32_MAX, SCHEMAS, Schema, ref

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
    422: "A field is missing, blank, too long, of the wrong type or unknown (`invalid_input`; `fields` "
    "names each), or an `Idempotency-Key` already used for a different request (`idempotency_key_reused`).",
    503: "The database is not answering (`unavailable`); `Retry-After` says when to try again.",
}
WAITING = (
    "With APPROVAL_REQUIRED: nothing is published; the version waits for another PIO or admin "
    "(`status` `pending`; decide with POST /updates/{pending_id}/approval)."
)
Security = list[dict[str, list[str]]]
PUBLIC: Security = [{}, {"bearer": []}]
TOKEN: Security = [{"bearer": []}]


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def operation(
    operation_id: str,
    summary: str,
    *,
    ok: tuple[int, Schema, str],
    errors: list[int],
    security: Security,
    body: str | None = None,
    parameters: list[Schema] | None = None,
    links: dict[str, Schema] | None = None,
    waits: bool = False,
) -> Schema:
    status, schema, description = ok
    success: Schema = _json(schema, description) if schema else {"description": description}
    if links:
        success["links"] = links
    responses: Schema = {str(status): success}
    if waits:
        responses["202"] = _json(ref("Pending"), WAITING)
    codes = sorted({*errors, 503, *([400, 413, 415, 422] if body else [])})
    responses.update({str(code): _json(ref("Error"), ERRORS[code]) for code in codes})
    spec: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "security": security,
        "responses": responses,
    }
    if parameters:
        spec["parameters"] = parameters
    if body:
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return spec


def path_parameter(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SLUG = path_parameter("slug", {"type": "string"})
TEMPLATE_ID = path_parameter("template_id", {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "A new random value (a UUID) per request. Sending the request again with the same key "
    "(after a lost answer) returns the first answer, with `Idempotent-Replayed: true`, and publishes "
    "nothing more; kept 24 hours.",
}
UPDATE_ID = path_parameter("update_id", {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
RUMOR_ID = path_parameter("rumor_id", {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
DELIVERY_ID = path_parameter("delivery_id", {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
MOMENT: Schema = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
AUDIT_FILTERS = [
    query(
        "actor",
        {"type": "string", "maxLength": ACTOR_MAX},
        "Part of the actor's label, any case (a name, `user 4`, `via api`).",
    ),
    query(
        "action",
        {"type": "string", "pattern": ACTION_PATTERN},
        "An action (`version.published`) or a prefix ending in `*` (`delivery.*`).",
    ),
    query("incident", {"type": "string"}, "An incident's slug (404 when there is none)."),
    query("since", MOMENT, "A day (YYYY-MM-DD, in TIMEZONE) or a time (RFC 3339); inclusive."),
    query("until", MOMENT, "A day (the whole day is included) or a time (RFC 3339); exclusive."),
    query(
        "hide_deliveries",
        {"type": "string", "enum": list(FLAGS)},
        "`true` (or `1`) leaves out the `delivery.*` events; `false` (or `0`, the default) keeps them.",
    ),
]
PUBLISHED_LINKS = {
    "CorrectUpdate": {"operationId": "correctUpdate", "parameters": {"update_id": "$response.body#/id"}},
    "ConfirmUpdate": {"operationId": "confirmUpdate", "parameters": {"update_id": "$response.body#/id"}},
    "RetractUpdate": {"operationId": "retractUpdate", "parameters": {"update_id": "$response.body#/id"}},
    "GetUpdate": {"operationId": "getUpdate", "parameters": {"update_id": "$response.body#/id"}},
}
INCIDENT_LINKS = {
    "GetIncident": {"operationId": "getIncident", "parameters": {"slug": "$response.body#/slug"}},
    "PublishUpdate": {"operationId": "publishUpdate", "parameters": {"slug": "$response.body#/slug"}},
    "ResolveIncident": {"operationId": "resolveIncident", "parameters": {"slug": "$response.body#/slug"}},
}
PUBLISHED = (201, ref("Published"), "The new version, with its update's id and seq and the public event id.")

PATHS: dict[str, dict[str, Schema]] = {
    "/incidents": {
        "get": operation(
            "listIncidents",
            "Incidents, active first, then the most recently changed",
            ok=(200, ref("IncidentList"), "Incidents"),
            errors=[401, 422],
            security=PUBLIC,
            parameters=[query("status", {"enum": [s.value for s in IncidentStatus]}, "Only this status.")],
        ),
        "post": operation(
            "createIncident",
            "Open an incident",
            ok=(201, ref("CreatedIncident"), "The incident, with its slug and CAP defaults"),
            errors=[401, 403],
            security=TOKEN,
            body="IncidentDraft",
            parameters=[IDEMPOTENCY_KEY],
            links=INCIDENT_LINKS,
        ),
    },
    "/incidents/{slug}": {
        "get": operation(
            "getIncident",
            "An incident with every update and version (and deliveries, for authenticated readers)",
            ok=(200, ref("IncidentRecord"), "The incident's record"),
            errors=[401, 404],
            security=PUBLIC,
            parameters=[SLUG],
            waits=True,
        )
    },
    "/incidents/{slug}/updates": {
        "post": operation(
            "publishUpdate",
            "Publish a new update (PRELIMINARY unless `preliminary: false`)",
            ok=(*PUBLISHED[:2], PUBLISHED[2]),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="UpdateDraft",
            parameters=[SLUG, IDEMPOTENCY_KEY],
            links=PUBLISHED_LINKS,
            waits=True,
        )
    },
    "/incidents/{slug}/details": {
        "post": operation(
            "changeIncidentDetails",
            "Correct the incident's details (title, summary, location, category, alert status, area, "
            "CAP defaults) as a new details version with a reason; omitted fields stay as they are",
            ok=(201, ref("ChangedDetails"), "The new details version and the public event id"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="DetailsChange",
            parameters=[SLUG, IDEMPOTENCY_KEY],
        )
    },
    "/incidents/{slug}/details/translations": {
        "post": operation(
            "translateIncidentDetails",
            "Translate the incident's title, summary and location into a language of LANGUAGES; "
            "readers of that language get them while they translate the current details",
            ok=(201, ref("TranslatedDetails"), "The translation and the public event id"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="DetailsTranslationDraft",
            parameters=[SLUG, IDEMPOTENCY_KEY],
        )
    },
    "/incidents/{slug}/resolve": {
        "post": operation(
            "resolveIncident",
            "Resolve an incident with an all-clear, published as its final update on every channel "
            "(RESOLVED; CAP responseType AllClear)",
            ok=(200, ref("ResolvedIncident"), "The resolved incident and its all-clear"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Resolution",
            parameters=[SLUG],
        )
    },
    "/incidents/{slug}/reopen": {
        "post": operation(
            "reopenIncident",
            "Reopen a resolved incident; the reason is published as an update on every channel (REOPENED)",
            ok=(200, ref("ReopenedIncident"), "The incident, active again, and the published reason"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Reopening",
            parameters=[SLUG],
        )
    },
    "/incidents/{slug}/pin": {
        "post": operation(
            "pinUpdate",
            "Pin one update as the incident's “What to do now”, shown first on its page, on `/`, at the "
            "head of its feeds and as the CAP `<instruction>`; `seq: null` unpins",
            ok=(200, ref("Pinned"), "What is pinned now, and the public event id"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Pin",
            parameters=[SLUG],
        )
    },
    "/updates/{update_id}": {
        "get": operation(
            "getUpdate",
            "One update with every version",
            ok=(200, ref("UpdateRecord"), "The update"),
            errors=[401, 404],
            security=PUBLIC,
            parameters=[UPDATE_ID],
        )
    },
    "/updates/{update_id}/corrections": {
        "post": operation(
            "correctUpdate",
            "Publish a correction of the current version",
            ok=PUBLISHED,
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Correction",
            parameters=[UPDATE_ID, IDEMPOTENCY_KEY],
            waits=True,
        )
    },
    "/updates/{update_id}/confirmation": {
        "post": operation(
            "confirmUpdate",
            "Confirm the current version (drops PRELIMINARY)",
            ok=PUBLISHED,
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Confirmation",
            parameters=[UPDATE_ID, IDEMPOTENCY_KEY],
        )
    },
    "/updates/{update_id}/retraction": {
        "post": operation(
            "retractUpdate",
            "Retract the update (its text stays in the record, struck through)",
            ok=PUBLISHED,
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Retraction",
            parameters=[UPDATE_ID, IDEMPOTENCY_KEY],
            waits=True,
        )
    },
    "/updates/{pending_id}/approval": {
        "post": operation(
            "decideApproval",
            "Approve (publish, as a direct publish would) or return a pending version; pio or admin, "
            "never its author",
            ok=(200, ref("Decided"), "The pending version, `approved` with `published`, or `returned`"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="Decision",
            parameters=[
                path_parameter("pending_id", {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
            ],
        )
    },
    "/updates/{update_id}/translations": {
        "post": operation(
            "addTranslation",
            "Add a translation of the update's current version into a language of LANGUAGES",
            ok=(201, ref("AddedTranslation"), "The translation, now shown to readers of its language"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="NewTranslation",
            parameters=[UPDATE_ID, IDEMPOTENCY_KEY],
        )
    },
    "/rumors": {
        "get": operation(
            "listRumors",
            "Rumor responses, most recently published first (the newest 100)",
            ok=(200, ref("RumorList"), "Rumor responses, each with every version"),
            errors=[401],
            security=PUBLIC,
        ),
        "post": operation(
            "publishRumor",
            "Publish a rumor response: the claim as it circulates, the verdict and the facts "
            "(per incident, or agency-wide without `incident`); signed, and sent to every channel "
            "labelled RUMOR CONTROL",
            ok=(201, ref("PublishedRumor"), "The rumor response"),
            errors=[401, 403, 404],
            security=TOKEN,
            body="RumorDraft",
            parameters=[IDEMPOTENCY_KEY],
        ),
    },
    "/rumors/{rumor_id}": {
        "get": operation(
            "getRumor",
            "One rumor response with every version",
            ok=(200, ref("Rumor"), "The rumor response"),
            errors=[401, 404],
            security=PUBLIC,
            parameters=[RUMOR_ID],
        )
    },
    "/rumors/{rumor_id}/corrections": {
        "post": operation(
            "correctRumor",
            "Correct a rumor response: a new version with a reason, naming the version it corrects",
            ok=(201, ref("PublishedRumor"), "The new version"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="RumorCorrection",
            parameters=[RUMOR_ID, IDEMPOTENCY_KEY],
        )
    },
    "/deliveries/{delivery_id}/retry": {
        "post": operation(
            "retryDelivery",
            "Send a failed delivery back to pending",
            ok=(200, ref("RetriedDelivery"), "The delivery, now pending"),
            errors=[400, 401, 403, 404, 409, 413, 415, 422],  # a body, if any, must be {}
            security=TOKEN,
            parameters=[DELIVERY_ID],
        )
    },
    "/live": {
        "get": operation(
            "liveStatus",
            "This server process's live stream: residents connected, newest event pushed (any token)",
            ok=(200, ref("LiveStatus"), "The answering process's live stream"),
            errors=[401],
            security=TOKEN,
        )
    },
    "/channels": {
        "get": operation(
            "listChannels",
            "Every enabled channel: running, in preview, or paused with the error (any account's token)",
            ok=(200, ref("ChannelList"), "The channels, in the order of CHANNELS"),
            errors=[401],
            security=TOKEN,
        )
    },
    "/channels/{channel}/resume": {
        "post": operation(
            "resumeChannel",
            "Resume a channel paused because its network rejected the credentials",
            ok=(200, ref("Channel"), "The channel, delivering again"),
            errors=[400, 401, 403, 404, 409, 413, 415, 422],  # a body, if any, must be {}
            security=TOKEN,
            parameters=[path_parameter("channel", {"type": "string", "maxLength": 32})],
        )
    },
    "/templates": {
        "get": operation(
            "listTemplates",
            "The templates (holding statements) not deleted, each with its current version, by name",
            ok=(200, ref("TemplateList"), "Every template"),
            errors=[401],
            security=TOKEN,
        ),
        "post": operation(
            "createTemplate",
            "Write a template: a holding statement with placeholders such as {location} (admin token)",
            ok=(201, ref("Template"), "The template, at version 1"),
            errors=[401, 403],
            security=TOKEN,
            body="TemplateDraft",
        ),
    },
    "/templates/{template_id}": {
        "get": operation(
            "getTemplate",
            "A template's current version and every earlier one; 410 once it is deleted",
            ok=(200, ref("TemplateRecord"), "The template and its versions, oldest first"),
            errors=[401, 404, 410],
            security=TOKEN,
            parameters=[TEMPLATE_ID],
        ),
        "delete": operation(
            "deleteTemplate",
            "Delete a template: no longer offered; its versions, and what was published from them, stay "
            "(admin token)",
            ok=(200, ref("Template"), "The template, marked deleted"),
            errors=[400, 401, 403, 404, 409, 413, 415, 422],
            security=TOKEN,
            parameters=[TEMPLATE_ID],
        ),
    },
    "/templates/{template_id}/versions": {
        "post": operation(
            "reviseTemplate",
            "Revise a template: a new version, never an edit (admin token); 409 when another admin revised "
            "it since `corrects_version`",
            ok=(201, ref("Template"), "The template at its new version"),
            errors=[401, 403, 404, 409],
            security=TOKEN,
            body="TemplateRevision",
            parameters=[TEMPLATE_ID],
        )
    },
    "/webhooks": {
        "post": operation(
            "registerWebhook",
            "Register a partner's webhook endpoint: every published version is POSTed to it, signed "
            "per Standard Webhooks (admin token)",
            ok=(201, ref("RegisteredWebhook"), "Registered; its `secret` is shown this once"),
            errors=[401, 403, 422],
            security=TOKEN,
            body="WebhookDraft",
        ),
        "get": operation(
            "listWebhooks",
            "The registered webhook endpoints, without their secrets (admin token)",
            ok=(200, ref("WebhookList"), "Every endpoint, oldest first"),
            errors=[401, 403],
            security=TOKEN,
        ),
    },
    "/webhooks/{webhook_id}/deliveries": {
        "get": operation(
            "webhookDeliveries",
            "One webhook endpoint's delivery log, newest first (admin token)",
            ok=(200, ref("WebhookLog"), "The endpoint and its latest deliveries"),
            errors=[401, 403, 404],
            security=TOKEN,
            parameters=[
                path_parameter("webhook_id", {"type": "integer", "minimum": 0, "maximum": INT32_MAX})
            ],
        )
    },
    "/audit": {
        "get": operation(
            "listAuditEvents",
            "The audit log, newest first (reviewer and admin tokens)",
            ok=(200, ref("AuditPage"), "Matching events; pass `next_before` as `before` for older ones"),
            errors=[401, 403, 404, 422],
            security=TOKEN,
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
            "Every matching audit event as CSV, newest first (reviewer and admin tokens)",
            ok=(200, {}, "CSV: " + ", ".join(("seq", "occurred_at", "actor", "…", "hash"))),
            errors=[401, 403, 404, 422],
            security=TOKEN,
            parameters=AUDIT_FILTERS,
        )
    },
    "/audit/chain": {
        "get": operation(
            "auditChainStatus",
            "Verify the whole audit chain and every version now (reviewer and admin tokens)",
            ok=(200, ref("ChainStatus"), "`verified through event N`, or the first broken row"),
            errors=[401, 403],
            security=TOKEN,
        )
    },
    "/openapi.json": {
        "get": operation(
            "openapi",
            "This description",
            ok=(200, {"type": "object"}, "OpenAPI 3.1"),
            errors=[],
            security=PUBLIC,
        )
    },
}
PATHS.update(openapi_media.PATHS)
# The CSV export is not JSON.
PATHS["/audit.csv"]["get"]["responses"]["200"] = {
    "description": PATHS["/audit.csv"]["get"]["responses"]["200"]["description"],
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


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
