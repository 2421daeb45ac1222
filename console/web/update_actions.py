"""The actions on a published update, by the path both the JSON API (`/api/v1/updates/{id}/…`)
and the console (`/console/updates/{id}/…`) serve each under: one table, one route each."""

from __future__ import annotations

from console.domain.updates import CONFIRM, CORRECT, RETRACT, Action

UPDATE_ACTIONS: dict[str, Action] = {"corrections": CORRECT, "confirmation": CONFIRM, "retraction": RETRACT}
