"""How a version alerts (issue 17): its CAP fields, what people should do (`instruction`) and
its Wireless Emergency Alert texts (IPAWS `CMAMtext`, `CMAMlongtext`).

Every field is optional. A version stores the fields in force for it (what it was sent with,
over what the version it changes had), as canonical JSON in `update_versions.alerting`; NULL
when none was ever given, so versions written before these fields hash and render as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from console.domain.canonical import canonical_json
from console.domain.text import clean

URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
ENUMS = {"urgency": URGENCIES, "severity": SEVERITIES, "certainty": CERTAINTIES}
CAP_FIELDS = ("urgency", "severity", "certainty", "response_types", "event", "expires")
EVENT_MAX = 100
INSTRUCTION_MAX = 2000
WEA_SHORT_MAX = 90  # IPAWS CMAMtext
WEA_LONG_MAX = 360  # IPAWS CMAMlongtext
EXPIRES_FORMAT = "must be an ISO 8601 date and time with its offset, e.g. 2026-12-05T18:00:00-05:00"


@dataclass(frozen=True)
class Alerting:
    """A version's alerting fields; None (or an empty tuple of response types): not given."""

    urgency: str | None = None
    severity: str | None = None
    certainty: str | None = None
    response_types: tuple[str, ...] | None = None
    event: str | None = None
    expires: datetime | None = None  # always timezone-aware
    instruction: str | None = None
    wea_short: str | None = None
    wea_long: str | None = None

    def over(self, earlier: Alerting) -> Alerting:
        """These fields, with `earlier`'s where these are not given (a correction carries over)."""
        given = {name: value for name, value in self.__dict__.items() if value is not None}
        return replace(earlier, **given)

    @property
    def empty(self) -> bool:
        return all(value is None for value in self.__dict__.values())


NOTHING = Alerting()


@dataclass(frozen=True)
class TranslatedAlerting:
    """What a translation carries of its version's alerting: the instruction, and (in Spanish)
    the WEA texts."""

    instruction: str | None = None
    wea_short: str | None = None
    wea_long: str | None = None

    @property
    def empty(self) -> bool:
        return self.instruction is None and self.wea_short is None and self.wea_long is None


NOT_TRANSLATED = TranslatedAlerting()


def is_spanish(lang: str) -> bool:
    return lang.lower().split("-")[0] == "es"


def _text(value: Any, name: str, limit: int, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return None
    return clean(value, max_chars=limit, required=False, errors=errors, field=name)


def _expires(value: Any, errors: dict[str, str]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            errors["cap.expires"] = (
                "must be an ISO 8601 date and time with its offset, e.g. 2026-12-05T18:00:00-05:00"
            )
            return None
    else:
        errors["cap.expires"] = "must be a string (ISO 8601 date and time with its offset)"
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        errors["cap.expires"] = "must say its timezone (an offset such as -05:00 or Z)"
        return None
    return moment.replace(microsecond=0)


def _response_types(value: Any, errors: dict[str, str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        errors["cap.response_types"] = f"must be an array of: {', '.join(RESPONSE_TYPES)}"
        return None
    unknown = [item for item in value if item not in RESPONSE_TYPES]
    if unknown:
        errors["cap.response_types"] = f"{unknown[0]!r} is not one of: {', '.join(RESPONSE_TYPES)}"
        return None
    return tuple(dict.fromkeys(value))  # in the order given, once each


def check_alerting(
    cap: Mapping[str, Any] | None,
    instruction: Any,
    wea: Mapping[str, Any] | None,
    errors: dict[str, str],
) -> Alerting:
    """What was sent as `cap`, `instruction` and `wea`, checked; problems go into `errors` as
    `cap.urgency`, `instruction`, `wea.short` and so on. A blank text counts as not given."""
    cap = cap or {}
    wea = wea or {}
    for name in cap:
        if name not in CAP_FIELDS:
            errors[f"cap.{name}"] = f"is not a known field (known: {', '.join(CAP_FIELDS)})"
    for name in wea:
        if name not in ("short", "long"):
            errors[f"wea.{name}"] = "is not a known field (known: long, short)"
    enums: dict[str, str | None] = {}
    for name, allowed in ENUMS.items():
        value = cap.get(name)
        if value is not None and value not in allowed:
            errors[f"cap.{name}"] = f"must be one of: {', '.join(allowed)}"
            value = None
        enums[name] = value
    return Alerting(
        urgency=enums["urgency"],
        severity=enums["severity"],
        certainty=enums["certainty"],
        response_types=_response_types(cap.get("response_types"), errors),
        event=_text(cap.get("event"), "cap.event", EVENT_MAX, errors),
        expires=_expires(cap.get("expires"), errors),
        instruction=_text(instruction, "instruction", INSTRUCTION_MAX, errors),
        wea_short=_text(wea.get("short"), "wea.short", WEA_SHORT_MAX, errors),
        wea_long=_text(wea.get("long"), "wea.long", WEA_LONG_MAX, errors),
    )


def check_translated(
    lang: str, instruction: Any, wea: Mapping[str, Any] | None, errors: dict[str, str], prefix: str = ""
) -> TranslatedAlerting:
    """A translation's instruction and WEA texts; WEA texts only in Spanish (IPAWS carries an
    English and a Spanish one)."""
    wea = wea or {}
    for name in wea:
        if name not in ("short", "long"):
            errors[f"{prefix}wea.{name}"] = "is not a known field (known: long, short)"
    if wea and not is_spanish(lang):
        errors[f"{prefix}wea"] = "is given only in a Spanish translation (IPAWS carries English and Spanish)"
    return TranslatedAlerting(
        instruction=_text(instruction, f"{prefix}instruction", INSTRUCTION_MAX, errors),
        wea_short=_text(wea.get("short"), f"{prefix}wea.short", WEA_SHORT_MAX, errors),
        wea_long=_text(wea.get("long"), f"{prefix}wea.long", WEA_LONG_MAX, errors),
    )


def alerting_view(alerting: Alerting) -> dict[str, Any]:
    """The fields as the JSON API shows them (and they are stored): only those given."""
    cap: dict[str, Any] = {
        name: value
        for name, value in (
            ("urgency", alerting.urgency),
            ("severity", alerting.severity),
            ("certainty", alerting.certainty),
            (
                "response_types",
                list(alerting.response_types) if alerting.response_types is not None else None,
            ),
            ("event", alerting.event),
            ("expires", alerting.expires.isoformat() if alerting.expires else None),
        )
        if value is not None
    }
    texts = translated_view(TranslatedAlerting(alerting.instruction, alerting.wea_short, alerting.wea_long))
    return {"cap": cap, **texts} if cap else texts


def translated_view(alerting: TranslatedAlerting) -> dict[str, Any]:
    view: dict[str, Any] = {}
    if alerting.instruction is not None:
        view["instruction"] = alerting.instruction
    wea = {name: text for name, text in (("short", alerting.wea_short), ("long", alerting.wea_long)) if text}
    if wea:
        view["wea"] = wea
    return view


def recheck(alerting: Alerting, errors: dict[str, str]) -> None:
    """The services' own check of fields a caller built (the API and console check as typed)."""
    view = alerting_view(alerting)
    check_alerting(view.get("cap"), view.get("instruction"), view.get("wea"), errors)


def alerting_text(alerting: Alerting) -> str | None:
    """The stored form: canonical JSON, None when nothing is given."""
    return None if alerting.empty else canonical_json(alerting_view(alerting))


# An incident's CAP defaults (issue 17): the CAP fields a new update of it gets where it sets
# none of its own. No `expires`: one end time for every future update makes no sense.
DEFAULT_FIELDS = ("urgency", "severity", "certainty", "response_types", "event")


def check_cap_defaults(value: Any, errors: dict[str, str]) -> Alerting:
    """`cap_defaults` as sent, checked by the rules of a version's `cap`; problems go into
    `errors` as `cap_defaults.urgency` and so on. None or {} is no defaults."""
    if value is None:
        return NOTHING
    if not isinstance(value, Mapping):
        errors["cap_defaults"] = f"must be an object with any of: {', '.join(DEFAULT_FIELDS)}"
        return NOTHING
    found: dict[str, str] = {}
    for name in value:
        if name == "expires":
            found["cap.expires"] = "has no default: each update says when it stops applying"
        elif name not in DEFAULT_FIELDS:
            found[f"cap.{name}"] = f"is not a known field (known: {', '.join(DEFAULT_FIELDS)})"
    known = {name: item for name, item in value.items() if name in DEFAULT_FIELDS}
    checked = check_alerting(known, None, None, found)
    errors.update({f"cap_defaults.{name.removeprefix('cap.')}": problem for name, problem in found.items()})
    if found:
        return NOTHING
    # No response types is no default for them, so `{"response_types": []}` is no defaults.
    return replace(checked, response_types=checked.response_types or None)


def cap_defaults_view(defaults: Alerting) -> dict[str, Any] | None:
    """The defaults as the JSON API shows them (and they are stored); None when there are none."""
    return alerting_view(defaults).get("cap")


def cap_defaults_text(defaults: Alerting) -> str | None:
    """The stored form: canonical JSON of the given fields, None when there are none."""
    view = cap_defaults_view(defaults)
    return canonical_json(view) if view else None


def cap_defaults_words(text: str | None) -> str:
    """Stored defaults as the history and the feeds' details entries show a change of them,
    in CAP's own words (e.g. "urgency: Immediate; response_types: Evacuate, Avoid"); "" for none."""
    view = cap_defaults_view(stored_cap_defaults(text)) or {}
    return "; ".join(
        f"{name}: {', '.join(value) if isinstance(value, list) else value}" for name, value in view.items()
    )


def stored_cap_defaults(text: str | None) -> Alerting:
    """The defaults as stored (trusted: written by `cap_defaults_text`)."""
    if text is None:
        return NOTHING
    errors: dict[str, str] = {}
    checked = check_cap_defaults(json.loads(text), errors)
    assert not errors, errors
    return checked


def translated_text(alerting: TranslatedAlerting) -> str | None:
    return None if alerting.empty else canonical_json(translated_view(alerting))


def stored_alerting(text: str | None) -> Alerting:
    """The fields as stored (trusted: written by `alerting_text`)."""
    if text is None:
        return NOTHING
    errors: dict[str, str] = {}
    value = json.loads(text)
    checked = check_alerting(value.get("cap"), value.get("instruction"), value.get("wea"), errors)
    assert not errors, errors
    return checked


def stored_translated(text: str | None) -> TranslatedAlerting:
    return NOT_TRANSLATED if text is None else translated_from_view(json.loads(text))


def translated_from_view(view: Mapping[str, Any]) -> TranslatedAlerting:
    """The `instruction` and `wea` of a view `translated_view` wrote (other keys ignored)."""
    wea = view.get("wea", {})
    return TranslatedAlerting(view.get("instruction"), wea.get("short"), wea.get("long"))


# What the console says next to each field, in plain language.
FORM_HELP = {
    "urgency": "How soon people need to act. Immediate: now. Expected: within the hour. "
    "Future: later. Past: no longer needed. Empty: Unknown.",
    "severity": "How bad it is for the people in the area. Extreme: threat to life. "
    "Severe: significant threat. Moderate: possible threat. Minor: little or no threat. Empty: Unknown.",
    "certainty": "How sure you are. Observed: it is happening. Likely: more likely than not. "
    "Possible: could happen. Empty: Likely while preliminary, Observed once confirmed.",
    "response_types": "What you are asking people to do.",
    "event": "A short name for what is happening, e.g. 'Gas leak' (empty: the incident's title).",
    "expires": "When this message stops applying (empty: no end given).",
    "instruction": "What people should do, in plain words. Shown first on every channel.",
    "wea_short": "The phone alert (Wireless Emergency Alert), at most 90 characters.",
    "wea_long": "The longer phone alert, at most 360 characters.",
}
