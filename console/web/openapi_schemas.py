"""The component schemas of /api/v1/openapi.json: what each JSON body of the API holds.

Request bodies say exactly what the API accepts (schemathesis checks both ways: everything
they allow is accepted, everything they refuse is refused); answers are closed objects, so a
field added to an answer without its description here fails the OpenAPI test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from console.alert_models import AlertState
from console.domain.alerting import (
    CERTAINTIES,
    EVENT_MAX,
    INSTRUCTION_MAX,
    RESPONSE_TYPES,
    SEVERITIES,
    URGENCIES,
    WEA_LONG_MAX,
    WEA_SHORT_MAX,
)
from console.domain.area import (
    DESCRIPTION_MAX,
    GEOCODE_NAME_MAX,
    GEOCODE_VALUE_MAX,
    GEOCODES_MAX,
    POINTS_MAX,
    POINTS_MIN,
    RADIUS_KM_MAX,
    SHAPES_MAX,
)
from console.domain.incidents import CATEGORIES
from console.domain.rumors import CLAIM_MAX, SEEN_AT_MAX
from console.domain.templates import NAME_MAX as TEMPLATE_NAME_MAX
from console.domain.templates import VALUE_MAX as PLACEHOLDER_VALUE_MAX
from console.domain.text import (
    BODY_MAX,
    CONTROL_CHARACTERS,
    HEADLINE_MAX,
    INVISIBLE_CHARACTERS,
    LOCATION_MAX,
    REASON_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
)
from console.domain.translations import TranslationStatus
from console.languages import LANGUAGE_TAG_MAX
from console.models import AlertStatus, ChannelState, DeliveryState, IncidentStatus, Verdict, VersionKind

Schema = dict[str, Any]
INT32_MAX = 2**31 - 1
# Text people type: at least one visible character, no control characters but tab and
# newlines (the API strips outer whitespace and refuses the rest; see console.domain.text).
_NO_CONTROL = f"^[^{CONTROL_CHARACTERS}]*$"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def typed_text(max_chars: int) -> Schema:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_chars,
        # something visible (the server also counts plane 14's tag characters as invisible:
        # an ECMAScript pattern without the `u` flag cannot name them)
        "pattern": f"[^\\s{INVISIBLE_CHARACTERS}]",
        "allOf": [{"pattern": _NO_CONTROL}],
    }


def optional_text(max_chars: int) -> Schema:
    """Text that may be left out: null, empty or up to `max_chars`, no control characters."""
    return nullable({"type": "string", "maxLength": max_chars, "pattern": _NO_CONTROL})


def any_case(words: Sequence[str], *, optional: bool = True) -> str:
    """A pattern for any of `words` in any case, with outer spaces; if `optional`, also nothing
    (the default)."""
    spelled = ("".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word) for word in words)
    return "^\\s*(" + "|".join(spelled) + ")" + ("?" if optional else "") + "\\s*$"


def obj(properties: dict[str, Schema], required: list[str] | None = None, *, closed: bool = True) -> Schema:
    """A JSON object of `properties`, every one of them `required` unless the list names fewer."""
    required = list(properties) if required is None else required
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


TIME: Schema = {"type": "string", "format": "date-time"}


def optional(schema: Schema, properties: dict[str, Schema]) -> Schema:
    """`schema` (an `obj`) with `properties` it may also have (given only when set)."""
    return {**schema, "properties": {**schema["properties"], **properties}}


HASH: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
TEXT: Schema = {"type": "string"}
ID: Schema = {"type": "integer", "minimum": 1}

INCIDENT_FIELDS: dict[str, Schema] = {
    "slug": {"type": "string", "pattern": "^[a-z0-9-]+$"},
    "title": TEXT,
    "summary": TEXT,
    "location": TEXT,
    "category": {"enum": list(CATEGORIES)},
    "status": {"enum": [s.value for s in IncidentStatus]},
    "alert_status": {"enum": [s.value for s in AlertStatus]},
    "created_at": TIME,
    "updated_at": TIME,
    "resolved_at": nullable(TIME),
    "last_update_at": nullable(TIME),
    "area": {
        **nullable({"$ref": "#/components/schemas/AreaFeature"}),
        "description": "The incident's mapped area as GeoJSON (RFC 7946, [lon, lat]); null: none.",
    },
}
SIGNATURE: Schema = nullable(
    {
        **obj(
            {
                "kid": {"type": "string", "description": "The key's RFC 7638 thumbprint, as in keys.json"},
                "alg": {"const": "EdDSA"},
                "value": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_-]{86}$",
                    "description": "base64url (no padding) Ed25519 signature of content_hash (UTF-8)",
                },
            }
        ),
        "description": "The agency's signature of content_hash, made when it was published; null only for "
        "text published before signing began",
    }
)
CONTENTS: Schema = {
    **obj(
        {
            "count": {"type": "integer", "minimum": 0, "description": "How many content hashes it holds"},
            "hash": {
                **HASH,
                "description": "SHA-256 of the canonical JSON list of every content hash in the record, in "
                "its order: each update's versions (each followed by its translations), the details "
                "versions, the details translations",
            },
            "kid": {"type": "string", "description": "The key's RFC 7638 thumbprint, as in keys.json"},
            "signature": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{86}$",
                "description": 'base64url (no padding) Ed25519 signature of "contents.{slug}.{count}.{hash}.'
                '{exported_at}" (UTF-8)',
            },
        }
    ),
    "description": "An export's signed list of what it holds (made when the export was built), so a "
    "version, update or translation taken out shows; only in exports (/incidents/{slug}.json, the "
    "archive), and only when a signing key is loaded",
}
VERSION_FIELDS: dict[str, Schema] = {
    "version": ID,
    "kind": {"enum": [k.value for k in VersionKind]},
    "headline": nullable(TEXT),
    "body": TEXT,
    "preliminary": {"type": "boolean"},
    "reason": nullable(TEXT),
    "author": TEXT,
    "published_at": TIME,
    "content_hash": HASH,
    "signature": SIGNATURE,
}
# Issue 17: how a version alerts. Sent: every field optional; on a correction or confirmation
# what is not sent is carried from the version it changes.
_SHORT_TEXT_SENT = {"type": "string", "pattern": _NO_CONTROL}
# Each field may be null: not given, as when it is left out.
CAP_FIELDS_SENT: dict[str, Schema] = {
    "urgency": nullable({"enum": list(URGENCIES)}),
    "severity": nullable({"enum": list(SEVERITIES)}),
    "certainty": nullable({"enum": list(CERTAINTIES)}),
    "response_types": nullable({"type": "array", "items": {"enum": list(RESPONSE_TYPES)}}),
    "event": nullable({**_SHORT_TEXT_SENT, "maxLength": EVENT_MAX}),
    "expires": {**nullable(TIME), "description": "With its offset (a time without one is refused)"},
}
CAP_SENT: Schema = {
    **nullable(obj(CAP_FIELDS_SENT, [])),
    "description": "CAP 1.2 fields of this version's <info>. Not given: urgency and severity Unknown, "
    "certainty Likely while preliminary and Observed once confirmed, event the incident's title, no "
    "responseType (AllClear on an all-clear), no expires. On a correction or confirmation each field "
    "not sent keeps the value of the version it changes.",
}
INSTRUCTION_SENT: Schema = {
    **nullable({**_SHORT_TEXT_SENT, "maxLength": INSTRUCTION_MAX}),
    "description": "What people should do, shown first on every channel; CAP <instruction>. Not sent on "
    "a correction or confirmation: kept from the version it changes.",
}
WEA_SENT: Schema = {
    **nullable(
        obj(
            {
                "short": nullable({**_SHORT_TEXT_SENT, "maxLength": WEA_SHORT_MAX}),
                "long": nullable({**_SHORT_TEXT_SENT, "maxLength": WEA_LONG_MAX}),
            },
            [],
        )
    ),
    "description": "Wireless Emergency Alert texts: CAP <parameter>s CMAMtext (short, at most 90 "
    "characters) and CMAMlongtext (long, at most 360). In a translation: only in Spanish.",
}
ALERTING_SENT: dict[str, Schema] = {"cap": CAP_SENT, "instruction": INSTRUCTION_SENT, "wea": WEA_SENT}
ALERTING_VIEW: dict[str, Schema] = {
    "cap": obj(
        {
            "urgency": {"enum": list(URGENCIES)},
            "severity": {"enum": list(SEVERITIES)},
            "certainty": {"enum": list(CERTAINTIES)},
            "response_types": {"type": "array", "items": {"enum": list(RESPONSE_TYPES)}},
            "event": TEXT,
            "expires": TIME,
        },
        [],
    ),
    "instruction": TEXT,
    "wea": obj({"short": TEXT, "long": TEXT}, []),
}
# An incident's CAP defaults (issue 17): the CAP fields of a version's `cap` but `expires`.
_CAP_DEFAULT_FIELDS: dict[str, Schema] = {
    name: schema for name, schema in CAP_SENT["anyOf"][0]["properties"].items() if name != "expires"
}
CAP_DEFAULTS_SENT: Schema = {
    **nullable(obj(_CAP_DEFAULT_FIELDS, [])),
    "description": "CAP defaults: the CAP fields every new update of the incident gets where it does not "
    "send its own (`cap` of the update wins field by field). Checked as an update's `cap` (a bad value "
    "is a 422 naming `cap_defaults.urgency` and so on); no `expires`. Stored in the update when it is "
    "published, so a published update and its CAP file never change with them; corrections carry "
    "their version's own fields. Null or absent: on creation none, on a change as they are; {} removes them.",
}
CAP_DEFAULTS_VIEW: Schema = {
    **nullable(obj({**_CAP_DEFAULT_FIELDS, "event": TEXT}, [])),
    "description": "The CAP defaults new updates get (only the fields set); null: none.",
}
TRANSLATED_ALERTING_VIEW: dict[str, Schema] = {
    "instruction": ALERTING_VIEW["instruction"],
    "wea": ALERTING_VIEW["wea"],
}
LANG: Schema = {
    "type": "string",
    "maxLength": LANGUAGE_TAG_MAX,
    "pattern": "^\\s*[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*\\s*$",
    "description": "A language tag of LANGUAGES other than the first (the primary language), any case",
}
# A language tag as the API answers it (LANG is one as sent).
CONFIGURED_LANG: Schema = {"type": "string", "description": "A language of LANGUAGES, as configured"}
TRANSLATION_FIELDS: dict[str, Schema] = {
    "lang": CONFIGURED_LANG,
    "version": ID,
    "headline": nullable(TEXT),
    "body": TEXT,
    "status": {
        "enum": ["current", "stale", "superseded"],
        "description": "current: of the update's newest version; stale: of an earlier one (readers get "
        "the primary text with a notice); superseded: a newer translation of the same version replaced it",
    },
    "author": TEXT,
    "created_at": TIME,
    "content_hash": HASH,
    "signature": SIGNATURE,
}
BYPASS_APPROVAL: Schema = {
    **nullable(typed_text(REASON_MAX)),
    "description": "With APPROVAL_REQUIRED: publish now, without a second person's approval, for this "
    "reason (recorded in the audit chain as `version.bypassed_approval`); checked but ignored when "
    "approval is not required; null: no bypass (as if absent).",
}
PENDING_FIELDS: dict[str, Schema] = {
    "id": {
        **ID,
        "description": "The pending version's id: POST /updates/{pending_id}/approval decides on it.",
    },
    "status": {"enum": ["pending", "approved", "returned"]},
    "incident": INCIDENT_FIELDS["slug"],
    "update_id": {**nullable(ID), "description": "null for a new update (until it is approved)"},
    "version": {**ID, "description": "The number it is published as"},
    "kind": {"enum": ["original", "correction", "retraction", "resolution"]},
    "headline": nullable(TEXT),
    "body": TEXT,
    "preliminary": nullable({"type": "boolean"}),
    "reason": nullable(TEXT),
    "translations": {
        "type": "array",
        "items": optional(
            obj({"lang": TEXT, "headline": nullable(TEXT), "body": TEXT}),
            {**TRANSLATED_ALERTING_VIEW, "media_alt": {"type": "array", "items": TEXT}},
        ),
    },
    "author": TEXT,
    "created_at": TIME,
    "decided_by": nullable(TEXT),
    "decided_at": nullable(TIME),
    "comment": nullable(TEXT),
}
# What it was sent with, published with it when approved: given only when sent.
PENDING_OPTIONAL: dict[str, Schema] = {
    **ALERTING_VIEW,
    "media": {
        "type": "array",
        "items": obj({"id": ID, "alt": TEXT}),
        "description": "The images sent with it (absent: none sent; a correction keeps the current ones)",
    },
}
# A translation as sent: alone (NewTranslation, with its version) or in a version's `translations`.
TRANSLATION_DRAFT_FIELDS: dict[str, Schema] = {
    "lang": LANG,
    "headline": optional_text(HEADLINE_MAX),
    "body": typed_text(BODY_MAX),
    "instruction": INSTRUCTION_SENT,
    "wea": WEA_SENT,
}
TRANSLATIONS_SENT: Schema = nullable(
    {
        "type": "array",
        "items": ref("TranslationDraft"),
        "description": "Translations of this version, written with it (one per language)",
    }
)
TRANSLATION_STATUS: Schema = {
    "type": "object",
    "additionalProperties": {"enum": [status.value for status in TranslationStatus]},
    "description": "Per language of LANGUAGES but the primary: current, stale (being updated) or missing",
}

_RUMOR_TEXT: dict[str, Schema] = {
    "claim": typed_text(CLAIM_MAX),
    "seen_at": optional_text(SEEN_AT_MAX),
    "verdict": {
        "type": "string",
        "pattern": any_case([verdict.value for verdict in Verdict], optional=False),
        "description": "False, Unconfirmed or True, any case",
    },
    "facts": typed_text(BODY_MAX),
    "translations": nullable(
        {
            "type": "array",
            "items": obj({"lang": LANG, "claim": typed_text(CLAIM_MAX), "facts": typed_text(BODY_MAX)}),
            "description": "The claim and facts in languages of LANGUAGES, written with this version",
        }
    ),
}
RUMOR_TRANSLATION: Schema = obj(
    {
        "lang": TEXT,
        "claim": TEXT,
        "facts": TEXT,
        "author": TEXT,
        "created_at": TIME,
        "content_hash": HASH,
        "signature": SIGNATURE,
    }
)
RUMOR_VERSION_FIELDS: dict[str, Schema] = {
    "version": ID,
    "kind": {"enum": ["original", "correction"]},
    "claim": TEXT,
    "seen_at": nullable(TEXT),
    "verdict": {"enum": [verdict.value for verdict in Verdict]},
    "facts": TEXT,
    "reason": nullable(TEXT),
    "author": TEXT,
    "published_at": TIME,
    "content_hash": HASH,
    "signature": SIGNATURE,
    "translations": {"type": "array", "items": RUMOR_TRANSLATION},
}
RUMOR: Schema = obj(
    {
        "id": ID,
        "incident": nullable(TEXT),
        "headline": {"type": "string", "description": "RUMOR CONTROL: VERDICT — “claim”"},
        "versions": {"type": "array", "items": obj(RUMOR_VERSION_FIELDS), "minItems": 1},
    }
)

_WEBHOOK: dict[str, Schema] = {
    "id": ID,
    "url": TEXT,
    "description": nullable(TEXT),
    "incident": nullable(TEXT),
    "created_at": TIME,
}
# A template's CAP defaults (issue 18): the CAP fields sent, but `expires` (a template is written
# before the day it applies).
TEMPLATE_CAP_SENT: Schema = {
    **nullable(obj({name: value for name, value in CAP_FIELDS_SENT.items() if name != "expires"}, [])),
    "description": "CAP defaults of an update published from this template; each field sent with "
    "`cap` when publishing wins over the template's. `expires` is refused: send it when publishing.",
}
# What an admin writes in a template (issue 18).
TEMPLATE_TEXT: dict[str, Schema] = {
    "name": typed_text(TEMPLATE_NAME_MAX),
    "category": nullable(
        {"type": "string", "pattern": any_case(CATEGORIES), "description": "a CAP category, any case"}
    ),
    "headline": optional_text(HEADLINE_MAX),
    "body": typed_text(BODY_MAX),
    "translations": nullable(
        {
            "type": "object",
            "additionalProperties": obj(
                {
                    "headline": optional_text(HEADLINE_MAX),
                    "body": typed_text(BODY_MAX),
                    "instruction": INSTRUCTION_SENT,
                },
                ["body"],
            ),
            "description": "The same text in other languages of LANGUAGES: "
            "{language tag: {headline?, body, instruction?}}.",
        }
    ),
    "cap": TEMPLATE_CAP_SENT,
    "instruction": {
        **INSTRUCTION_SENT,
        "description": "What people should do: the instruction an update from this template starts "
        "with; placeholders are filled in as in the text. An `instruction` sent when publishing "
        "replaces it, and then the translated ones are left out (they translate other words).",
    },
}
# A template as the API shows it: its current (or one) version.
TEMPLATE_FIELDS: dict[str, Schema] = {
    "id": ID,
    "version": ID,
    "name": TEXT,
    "category": {"enum": list(CATEGORIES)},
    "headline": nullable(TEXT),
    "body": TEXT,
    "translations": {
        "type": "object",
        "additionalProperties": obj(
            {"headline": nullable(TEXT), "body": TEXT, "instruction": nullable(TEXT)}
        ),
    },
    "cap": {**nullable(ALERTING_VIEW["cap"]), "description": "Its CAP defaults; null when it sets none."},
    "instruction": {**nullable(TEXT), "description": "Its instruction; null when it sets none."},
    "placeholders": {
        "type": "array",
        "items": TEXT,
        "description": "Every placeholder in its texts, in the order they first appear.",
    },
    "author": TEXT,
    "updated_at": {**TIME, "description": "When this version was written."},
    "deleted_at": nullable(TIME),
}
DETAILS_FIELDS: dict[str, Schema] = {
    "title": TEXT,
    "summary": TEXT,
    "location": TEXT,
    "category": {"enum": list(CATEGORIES)},
    "alert_status": {"enum": [s.value for s in AlertStatus]},
}
# Incident details are signed since migration i19_details_signatures: those written before are not.
DETAILS_SIGNATURE: Schema = {
    **SIGNATURE,
    "description": "The agency's signature of content_hash, made when it was written; null only for "
    "details written before they were signed",
}
DETAILS_VERSION_FIELDS: dict[str, Schema] = {
    "version": ID,
    "fields": {**obj(DETAILS_FIELDS), "description": "The incident's details as this version has them."},
    "area": {
        **nullable({"$ref": "#/components/schemas/AreaFeature"}),
        "description": "The mapped area as this version has it (GeoJSON); null: none.",
    },
    "area_canonical": {
        **nullable({"type": "string"}),
        "description": "The same area as the text content_hash covers: the canonical JSON of "
        '`{"description", "polygons": [[[lat, lon], …]], "circles", "geocodes"}` (GeoJSON turns '
        "rings counterclockwise, so it cannot give this back); null: no area.",
    },
    "cap_defaults": {**CAP_DEFAULTS_VIEW, "description": "The CAP defaults this version has; null: none."},
    "changed": {
        "type": "array",
        "items": {"enum": [*DETAILS_FIELDS, "area", "cap_defaults"]},
        "description": "The fields this version changed from the one before (none for version 1).",
    },
    "reason": {**nullable(TEXT), "description": "Why they changed; null for version 1."},
    "author": TEXT,
    "published_at": TIME,
    "content_hash": HASH,
    "signature": DETAILS_SIGNATURE,
}

# An incident's details besides its title: optional when it is created, and when they change.
_OPTIONAL_DETAILS: dict[str, Schema] = {
    "summary": optional_text(SUMMARY_MAX),
    "location": optional_text(LOCATION_MAX),
    "category": nullable(
        {"type": "string", "pattern": any_case(CATEGORIES), "description": "a CAP category, any case"}
    ),
    "alert_status": nullable(
        {
            "type": "string",
            "pattern": any_case([s.value for s in AlertStatus]),
            "description": "any case",
        }
    ),
    "area": {
        **nullable({"$ref": "#/components/schemas/AreaDraft"}),
        "description": "The mapped area; null or absent leaves it as it is, an area with no polygon, "
        "circle or geocode removes it.",
    },
    "cap_defaults": CAP_DEFAULTS_SENT,
}

_LAT_LON: Schema = {
    "type": "array",
    "prefixItems": [
        {"type": "number", "minimum": -90, "maximum": 90},
        {"type": "number", "minimum": -180, "maximum": 180},
    ],
    "minItems": 2,
    "maxItems": 2,
    "description": "[latitude, longitude], WGS 84",
}
_CIRCLE: Schema = obj(
    {
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "radius_km": {"type": "number", "exclusiveMinimum": 0, "maximum": RADIUS_KM_MAX},
    }
)
_GEOCODE: Schema = obj(
    {
        "name": {**typed_text(GEOCODE_NAME_MAX), "description": "CAP valueName: SAME, FIPS, ZIP..."},
        "value": typed_text(GEOCODE_VALUE_MAX),
    }
)


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {"code": TEXT, "message": TEXT, "fields": {"type": "object", "additionalProperties": TEXT}},
                ["code", "message"],
            ),
            "current_version": ID,
            "current": {"type": "object"},
        },
        ["error"],
    ),
    "Incident": obj(INCIDENT_FIELDS),
    "CreatedIncident": obj({**INCIDENT_FIELDS, "cap_defaults": CAP_DEFAULTS_VIEW}),
    "AreaDraft": {
        **obj(
            {
                "description": optional_text(DESCRIPTION_MAX),
                "polygons": {
                    "type": "array",
                    "maxItems": SHAPES_MAX,
                    "items": {
                        "type": "array",
                        "minItems": POINTS_MIN,
                        "maxItems": POINTS_MAX,
                        "items": _LAT_LON,
                    },
                },
                "circles": {"type": "array", "maxItems": SHAPES_MAX, "items": _CIRCLE},
                "geocodes": {"type": "array", "maxItems": GEOCODES_MAX, "items": _GEOCODE},
            },
            [],
        ),
        "description": "An incident's mapped area, in CAP's [lat, lon] order. Refused with 422 "
        "(`fields.area` naming the problem), though the schema cannot say so: a polygon that is "
        "not closed (its last point repeats its first), crosses itself or has no area, and a description "
        "without any polygon, circle or geocode.",
    },
    "AreaFeature": obj(
        {
            "type": {"const": "Feature"},
            "geometry": nullable(
                obj(
                    {
                        "type": {"enum": ["Polygon", "MultiPolygon"]},
                        "coordinates": {
                            "type": "array",
                            "description": "[lon, lat] positions (RFC 7946): a Polygon's rings, or "
                            "a MultiPolygon's polygons",
                        },
                    }
                )
            ),
            "properties": obj(
                {
                    "description": TEXT,
                    "circles": {"type": "array", "items": _CIRCLE},
                    "geocodes": {"type": "array", "items": _GEOCODE},
                }
            ),
        }
    ),
    "IncidentList": obj(
        {"incidents": {"type": "array", "items": ref("Incident")}, "next_cursor": nullable(TEXT)}
    ),
    "Version": optional(
        obj({**VERSION_FIELDS, "translations": {"type": "array", "items": ref("Translation")}}), ALERTING_VIEW
    ),
    "Translation": optional(obj(TRANSLATION_FIELDS), TRANSLATED_ALERTING_VIEW),
    "AddedTranslation": optional(
        obj({"update_id": ID, **TRANSLATION_FIELDS, "event_id": ID}), TRANSLATED_ALERTING_VIEW
    ),
    "Delivery": obj(
        {
            "id": ID,
            "version": ID,
            "channel": TEXT,
            "state": {"enum": [s.value for s in DeliveryState]},
            "attempts": {"type": "integer", "minimum": 0},
            "next_attempt_at": TIME,
            "last_error": nullable(TEXT),
            "external_id": nullable(TEXT),
            "external_url": nullable(TEXT),
            "posts": {
                "type": "array",
                "description": (
                    "X and Mastodon: every post the delivery made, in order. A text over the "
                    "network's limit is a numbered run of posts (a thread); `external_id` and "
                    "`external_url` are those of the first"
                ),
                "items": obj(
                    {
                        "position": {"type": "integer", "minimum": 1},
                        "external_id": TEXT,
                        "external_url": nullable(TEXT),
                    }
                ),
            },
            "detail": {
                **nullable(TEXT),
                "description": "What the channel sent (X and Mastodon: each post's text, blank line between)",
            },
            "note": nullable(TEXT),
            "updated_at": TIME,
            "completed_at": nullable(TIME),
            "translation": {
                **nullable(TEXT),
                "description": (
                    "null: the delivery of the version itself; a language: of the version's "
                    "translation into it, added later (its own `translation.added` event)"
                ),
            },
        }
    ),
    "Update": obj(
        {
            "id": ID,
            "seq": ID,
            "versions": {"type": "array", "items": ref("Version"), "minItems": 1},
            "translation_status": TRANSLATION_STATUS,
            "deliveries": {
                "type": "array",
                "items": ref("Delivery"),
                "description": "Only for authenticated readers.",
            },
        },
        ["id", "seq", "versions", "translation_status"],
    ),
    "IncidentRecord": obj(
        {
            **INCIDENT_FIELDS,
            "cap_defaults": {
                **CAP_DEFAULTS_VIEW,
                "description": "The CAP defaults new updates get: the current details version's; null: none.",
            },
            "details_versions": {
                "type": "array",
                "items": ref("DetailsVersion"),
                "description": "Every version of the incident's details, oldest first (the last is current).",
            },
            "details_translations": {
                "type": "object",
                "additionalProperties": ref("DetailsTranslation"),
                "description": "Per language, the newest translation of the incident's details.",
            },
            "updates": {"type": "array", "items": ref("Update")},
            "contents": CONTENTS,
        },
        [*INCIDENT_FIELDS, "cap_defaults", "details_versions", "details_translations", "updates"],
    ),
    "DetailsVersion": obj(DETAILS_VERSION_FIELDS),
    "DetailsTranslation": obj(
        {
            "lang": CONFIGURED_LANG,
            "details_version": {**ID, "description": "The details version it translates."},
            "title": TEXT,
            "summary": TEXT,
            "location": TEXT,
            "status": {
                "enum": ["current", "stale"],
                "description": (
                    "current while the title, summary and location it translates are the incident's; "
                    "stale after a correction of any of them (readers get the primary text meanwhile)"
                ),
            },
            "author": TEXT,
            "created_at": TIME,
            "content_hash": HASH,
            "signature": DETAILS_SIGNATURE,
        }
    ),
    "Announcement": optional(
        obj(
            {
                "id": ID,
                "seq": ID,
                **VERSION_FIELDS,
                "translations": {"type": "array", "items": ref("Translation")},
                "event_id": ID,
            }
        ),
        ALERTING_VIEW,
    ),
    "ResolvedIncident": obj(
        {
            **INCIDENT_FIELDS,
            "all_clear": {
                **ref("Announcement"),
                "description": "The all-clear, published as the incident's final update (kind `resolution`).",
            },
        }
    ),
    "ReopenedIncident": obj(
        {
            **INCIDENT_FIELDS,
            "reopened": {
                **ref("Announcement"),
                "description": "The reason, published as an update (kind `reopening`).",
            },
        }
    ),
    "Pinned": obj(
        {
            "incident": INCIDENT_FIELDS["slug"],
            "seq": {**nullable(ID), "description": "The pinned update's number; null: nothing is pinned."},
            "pinned_at": TIME,
            "pinned_by": {"type": "string", "description": "Who pinned (or unpinned)."},
            "event_id": ID,
        }
    ),
    "TranslatedDetails": obj(
        {
            "incident": INCIDENT_FIELDS["slug"],
            "lang": CONFIGURED_LANG,
            "details_version": ID,
            "title": TEXT,
            "summary": TEXT,
            "location": TEXT,
            "author": TEXT,
            "created_at": TIME,
            "content_hash": HASH,
            "signature": DETAILS_SIGNATURE,
            "event_id": ID,
        }
    ),
    "ChangedDetails": obj({"incident": INCIDENT_FIELDS["slug"], **DETAILS_VERSION_FIELDS, "event_id": ID}),
    "UpdateRecord": obj(
        {
            "id": ID,
            "seq": ID,
            "incident": INCIDENT_FIELDS["slug"],
            "versions": {"type": "array", "items": ref("Version"), "minItems": 1},
            "translation_status": TRANSLATION_STATUS,
            "deliveries": {"type": "array", "items": ref("Delivery")},
        },
        ["id", "seq", "incident", "versions", "translation_status"],
    ),
    "Published": optional(
        obj(
            {
                "id": ID,
                "seq": ID,
                "incident": INCIDENT_FIELDS["slug"],
                **VERSION_FIELDS,
                "translations": {"type": "array", "items": ref("Translation")},
                "template": {
                    **nullable(obj({"id": ID, "version": ID})),
                    "description": "The template version it was written from; null when typed.",
                },
                "event_id": ID,
            }
        ),
        ALERTING_VIEW,
    ),
    "Channel": obj(
        {
            "name": TEXT,
            "state": {"enum": [s.value for s in ChannelState]},
            "preview": {"type": "boolean"},
            "error": nullable(TEXT),
            "failing_since": nullable(TIME),
            "resumed_at": nullable(TIME),
            "resumed_by": nullable(TEXT),
            "pending": {"type": "integer", "minimum": 0},
            "failed": {"type": "integer", "minimum": 0},
        }
    ),
    "LiveStatus": obj(
        {
            "pid": {"type": "integer"},
            "broadcast": TEXT,
            "topic": TEXT,
            "channel": {**TEXT, "deprecated": True, "description": "The former name of `topic`."},
            "broadcast_reconnections": {"type": "integer", "minimum": 0},
            "position": {"type": "integer", "minimum": 0},
            "subscribers": {"type": "integer", "minimum": 0},
            "dropped_slow": {"type": "integer", "minimum": 0},
            "page_renders": {"type": "integer", "minimum": 0},
        }
    ),
    "ChannelList": obj({"channels": {"type": "array", "items": ref("Channel")}}),
    "WebhookDraft": obj(
        {
            "url": {
                "type": "string",
                "maxLength": 2000,
                "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+",
                "description": "https, to a public host",
            },
            "description": nullable({"type": "string", "maxLength": 500}),
            "incident": nullable(
                {"type": "string", "maxLength": 200, "description": "a slug: only its updates"}
            ),
        },
        ["url"],
    ),
    "Webhook": obj(_WEBHOOK),
    "RegisteredWebhook": obj(
        {**_WEBHOOK, "secret": {"type": "string", "pattern": "^whsec_", "description": "shown this once"}}
    ),
    "WebhookList": obj({"webhooks": {"type": "array", "items": ref("Webhook")}}),
    "WebhookLog": obj(
        {
            **_WEBHOOK,
            "deliveries": {
                "type": "array",
                "items": obj(
                    {
                        "event_id": ID,
                        "state": {"enum": [s.value for s in AlertState]},
                        "attempts": {"type": "integer", "minimum": 0},
                        "error": nullable(TEXT),
                        "created_at": TIME,
                        "sent_at": nullable(TIME),
                    }
                ),
            },
            "next_before": {
                **nullable(ID),
                "description": "Pass it as `before` for the next (older) page; null on the last page",
            },
        }
    ),
    "RetriedDelivery": obj({"id": ID, "channel": TEXT, "state": {"enum": [s.value for s in DeliveryState]}}),
    "AuditHead": obj({"event": {"type": "integer", "minimum": 0}, "hash": HASH}),
    "AuditEvent": obj(
        {
            "seq": ID,
            "occurred_at": TIME,
            "actor": TEXT,
            "actor_user_id": nullable({"type": "integer"}),
            "action": TEXT,
            "incident": nullable(TEXT),
            "subject": TEXT,
            "data": {"type": "object"},
            "prev_hash": HASH,
            "hash": HASH,
        }
    ),
    "AuditPage": obj(
        {
            "events": {"type": "array", "items": ref("AuditEvent")},
            "next_before": nullable(ID),
            "head": ref("AuditHead"),
        }
    ),
    "ChainStatus": obj(
        {
            "ok": {"type": "boolean"},
            "verified_through": {"type": "integer", "minimum": 0},
            "events": {"type": "integer", "minimum": 0},
            "head_hash": HASH,
            "broken_at": nullable({"type": "integer"}),
            "problem": nullable(TEXT),
            "versions_checked": {"type": "integer", "minimum": 0},
            "version_problem": nullable(TEXT),
            "summary": TEXT,
        }
    ),
    "IncidentDraft": obj(
        {
            "title": typed_text(TITLE_MAX),
            **_OPTIONAL_DETAILS,
        },
        ["title"],
    ),
    "DetailsChange": obj(
        {
            "title": nullable(typed_text(TITLE_MAX)),
            **_OPTIONAL_DETAILS,
            "reason": typed_text(REASON_MAX),
            "corrects_version": ID,
        },
        ["reason", "corrects_version"],
    ),
    "DetailsTranslationDraft": obj(
        {
            "lang": LANG,
            "version": {**ID, "description": "The details version translated: the current one (409 if not)."},
            "title": typed_text(TITLE_MAX),
            "summary": {
                **optional_text(SUMMARY_MAX),
                "description": "Required when the incident has a summary; empty when it has none.",
            },
            "location": {
                **optional_text(LOCATION_MAX),
                "description": "Required when the incident has a location; empty when it has none.",
            },
        },
        ["lang", "version", "title"],
    ),
    "Resolution": obj(
        {
            "message": {**typed_text(BODY_MAX), "description": "The all-clear, e.g. “All clear: …”."},
            "translations": nullable(
                {
                    "type": "object",
                    "additionalProperties": {"type": "string", "maxLength": BODY_MAX, "pattern": _NO_CONTROL},
                    "description": "The all-clear in other languages of LANGUAGES: {language tag: text}.",
                }
            ),
            "bypass_approval": BYPASS_APPROVAL,
        },
        ["message"],
    ),
    "Reopening": obj({"reason": typed_text(REASON_MAX)}, ["reason"]),
    "TemplateDraft": obj(TEMPLATE_TEXT, ["name", "body"]),
    "TemplateRevision": obj({**TEMPLATE_TEXT, "corrects_version": ID}, ["name", "body", "corrects_version"]),
    "Template": obj(TEMPLATE_FIELDS),
    "TemplateList": obj({"templates": {"type": "array", "items": ref("Template")}}),
    "TemplateRecord": obj(
        {**TEMPLATE_FIELDS, "versions": {"type": "array", "items": ref("Template"), "minItems": 1}}
    ),
    "Pin": obj(
        {
            "seq": {
                **nullable(ID),
                "description": "The number of the update to pin (not a retracted one); null unpins.",
            }
        },
        ["seq"],
    ),
    "UpdateDraft": {
        **obj(
            {
                "headline": optional_text(HEADLINE_MAX),
                "body": typed_text(BODY_MAX),
                "preliminary": nullable({"type": "boolean"}),
                "translations": TRANSLATIONS_SENT,
                "bypass_approval": BYPASS_APPROVAL,
                **ALERTING_SENT,
                "template": {
                    **ID,
                    "description": "Publish from this template's current version (then send no headline, "
                    "body or translations: they are the template's, its placeholders filled).",
                },
                "placeholders": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "maxLength": PLACEHOLDER_VALUE_MAX},
                    "description": "With `template`: a value for each placeholder, {name: text}. "
                    "`incident`, `location` and `time` default to the incident's title, its location and "
                    "the time of publishing.",
                },
            },
            [],
        ),
        "anyOf": [{"required": ["body"]}, {"required": ["template"]}],
    },
    "Correction": obj(
        {
            "headline": optional_text(HEADLINE_MAX),
            "body": typed_text(BODY_MAX),
            "preliminary": nullable({"type": "boolean"}),
            "reason": typed_text(REASON_MAX),
            "corrects_version": ID,
            "translations": TRANSLATIONS_SENT,
            "bypass_approval": BYPASS_APPROVAL,
            **ALERTING_SENT,
        },
        ["body", "reason", "corrects_version"],
    ),
    "Confirmation": obj(
        {
            "corrects_version": ID,
            "reason": optional_text(REASON_MAX),
            "translations": TRANSLATIONS_SENT,
            **ALERTING_SENT,
        },
        ["corrects_version"],
    ),
    "Retraction": obj(
        {
            "reason": typed_text(REASON_MAX),
            "corrects_version": ID,
            "translations": TRANSLATIONS_SENT,
            "bypass_approval": BYPASS_APPROVAL,
        },
        ["reason", "corrects_version"],
    ),
    "Pending": optional(obj(PENDING_FIELDS), PENDING_OPTIONAL),
    "Decision": obj(
        {
            "version": {
                **ID,
                "description": "The pending version's `version` (the number it is published as)",
            },
            "decision": {"enum": ["approve", "return"]},
            "comment": optional_text(REASON_MAX),
        },
        ["version", "decision"],
    ),
    "Decided": optional(
        obj(
            {
                **PENDING_FIELDS,
                "published": {**nullable(ref("Published")), "description": "null when returned"},
            }
        ),
        PENDING_OPTIONAL,
    ),
    "Rumor": RUMOR,
    "RumorList": obj({"rumors": {"type": "array", "items": RUMOR}}),
    "PublishedRumor": obj({"id": ID, "incident": nullable(TEXT), "event_id": ID, **RUMOR_VERSION_FIELDS}),
    "RumorDraft": obj(
        {"incident": nullable({"type": "string", "maxLength": 200}), **_RUMOR_TEXT},
        ["claim", "verdict", "facts"],
    ),
    "RumorCorrection": obj(
        {**_RUMOR_TEXT, "reason": typed_text(REASON_MAX), "corrects_version": ID},
        ["claim", "verdict", "facts", "reason", "corrects_version"],
    ),
    "TranslationDraft": obj(TRANSLATION_DRAFT_FIELDS, ["lang", "body"]),
    "NewTranslation": obj(
        {
            **TRANSLATION_DRAFT_FIELDS,
            "version": {**ID, "description": "The update's current version: the one translated"},
        },
        ["lang", "body", "version"],
    ),
}
