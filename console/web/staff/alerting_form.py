"""The "Alert details" of the console's compose and correct forms (issue 17): CAP fields, the
instruction and the WEA texts, as typed, checked by the domain's rules (console.domain.alerting).

Form fields: `cap_urgency`, `cap_severity`, `cap_certainty` (selects, empty: not set),
`cap_response_types` (checkboxes), `cap_event`, `cap_expires` (datetime-local) with
`cap_expires_zone` (an IANA timezone, the agency's by default), `instruction`, `wea_short`,
`wea_long`. Errors are keyed by these names.

The incident's "Correct details" form takes the incident's CAP defaults in the same CAP fields
(without `cap_expires`), read and checked by `TypedAlerting.check_defaults`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console.domain.alerting import NOTHING, Alerting, check_alerting, check_cap_defaults
from console.domain.autosave import Saved
from console.web.staff.forms import Form

TEXT_FIELDS = (
    "cap_urgency",
    "cap_severity",
    "cap_certainty",
    "cap_event",
    "cap_expires",
    "cap_expires_zone",
    "instruction",
    "wea_short",
    "wea_long",
)
# The domain's names for its problems, as the form names its fields
FORM_NAMES = {
    "cap.urgency": "cap_urgency",
    "cap.severity": "cap_severity",
    "cap.certainty": "cap_certainty",
    "cap.response_types": "cap_response_types",
    "cap.event": "cap_event",
    "cap.expires": "cap_expires",
    "instruction": "instruction",
    "wea.short": "wea_short",
    "wea.long": "wea_long",
}


@dataclass(frozen=True)
class TypedAlerting:
    """What the PIO typed in "Alert details", kept as typed to show the form again."""

    values: dict[str, str] = field(default_factory=dict)
    response_types: tuple[str, ...] = ()

    @classmethod
    def read(cls, form: Form) -> TypedAlerting:
        chosen = tuple(str(value) for value in form.data.getlist("cap_response_types"))
        return cls({name: form.text(name) for name in TEXT_FIELDS}, chosen)

    @classmethod
    def of(cls, alerting: Alerting, zone: ZoneInfo) -> TypedAlerting:
        """The form filled with a version's fields (a correction starts from them)."""
        expires = alerting.expires.astimezone(zone) if alerting.expires is not None else None
        values = {
            "cap_urgency": alerting.urgency or "",
            "cap_severity": alerting.severity or "",
            "cap_certainty": alerting.certainty or "",
            "cap_event": alerting.event or "",
            "cap_expires": expires.strftime("%Y-%m-%dT%H:%M") if expires is not None else "",
            "cap_expires_zone": zone.key,
            "instruction": alerting.instruction or "",
            "wea_short": alerting.wea_short or "",
            "wea_long": alerting.wea_long or "",
        }
        return cls(values, alerting.response_types or ())

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def check(self, zone: ZoneInfo) -> tuple[Alerting, dict[str, str]]:
        """The fields for the services, and the problems by form field name."""
        errors: dict[str, str] = {}
        cap: dict[str, Any] = {
            name: self.value(f"cap_{name}") for name in ("urgency", "severity", "certainty", "event")
        }
        cap = {name: value for name, value in cap.items() if value.strip()}
        if self.response_types:
            cap["response_types"] = list(self.response_types)
        expires = self.value("cap_expires").strip()
        if expires:
            typed_zone = self.value("cap_expires_zone").strip() or zone.key
            try:
                in_zone = ZoneInfo(typed_zone)
            except (ZoneInfoNotFoundError, ValueError):
                errors["cap_expires_zone"] = f"{typed_zone!r} is not a timezone (e.g. America/New_York)"
                in_zone = zone
            try:
                cap["expires"] = datetime.fromisoformat(expires).replace(tzinfo=in_zone)
            except ValueError:
                errors["cap_expires"] = "must be a date and time, e.g. 2026-12-05T18:00"
        wea = {"short": self.value("wea_short"), "long": self.value("wea_long")}
        found: dict[str, str] = {}
        alerting = check_alerting(cap, self.value("instruction"), wea, found)
        errors.update({FORM_NAMES.get(name, name): problem for name, problem in found.items()})
        return (NOTHING if errors else alerting), errors

    def check_defaults(self) -> tuple[Alerting, dict[str, str]]:
        """The CAP fields typed as the incident's defaults, and the problems by form field name."""
        cap: dict[str, Any] = {
            name: value
            for name in ("urgency", "severity", "certainty", "event")
            if (value := self.value(f"cap_{name}")).strip()
        }
        if self.response_types:
            cap["response_types"] = list(self.response_types)
        found: dict[str, str] = {}
        defaults = check_cap_defaults(cap, found)
        return defaults, defaults_form_errors(found)

    def fingerprint(self) -> dict[str, Any]:
        return {**self.values, "cap_response_types": list(self.response_types)}


NOT_TYPED = TypedAlerting()


def saved_alerting(saved: Saved) -> TypedAlerting | None:
    """The "Alert details" of an autosaved form; None when none were saved with it."""
    typed = saved.typed
    return TypedAlerting(dict(typed.alerting), typed.response_types) if typed.alerting else None


def defaults_form_errors(errors: dict[str, str]) -> dict[str, str]:
    """The domain's `cap_defaults.urgency` and so on, as the details form names its fields."""
    return {
        f"cap_{name.removeprefix('cap_defaults.')}" if name.startswith("cap_defaults.") else name: problem
        for name, problem in errors.items()
    }
