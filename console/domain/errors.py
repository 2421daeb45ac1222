"""Errors the domain raises; the web layer maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """One or more fields are wrong; `fields` maps each field to what is wrong with it."""

    code = "invalid_input"

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in self.fields.items()))


class NotFound(DomainError):
    code = "not_found"


class Gone(DomainError):
    """It existed and was removed on purpose (a deleted template): its record stays in the audit log."""

    code = "gone"


class NotAllowed(DomainError):
    """The action is valid input but not possible in the current state (e.g. retracted)."""

    code = "not_allowed"


class PermissionDenied(DomainError):
    code = "forbidden"


class VersionConflict(DomainError):
    """A newer version was published since the one the caller named; nothing was written."""

    code = "conflict"

    def __init__(self, named_version: int, current: Mapping[str, Any]) -> None:
        self.named_version = named_version
        self.current = dict(current)
        super().__init__(
            f"version {named_version} is no longer current: version {current['version']} "
            "was published since; review it and correct that one instead"
        )
