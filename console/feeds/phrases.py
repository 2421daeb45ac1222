"""Every word the feeds and CAP messages write themselves, per language, in one place.

The text of an update is the PIO's (or a translator's); these are the labels and notices
around it. English is the wording the primary feeds always had. A language with no table
here gets the English words (its feeds still declare their language, and the text of a
current translation is still in it). When the Babel catalogs land (console.i18n), this
table is what moves into them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain import wording
from console.domain.translations import TranslationStatus
from console.models import AlertStatus, VersionKind


@dataclass(frozen=True)
class FeedPhrases:
    # wording.labels() in this language (CORRECTION, PRELIMINARY, RETRACTED, EXERCISE, ...)
    labels: dict[str, str] = field(default_factory=dict)
    correction: str = "Correction"
    confirmed: str = "Confirmed"
    retracted: str = "Retracted"
    not_real: str = "this is not a real incident."
    preliminary: str = "Preliminary: not yet confirmed; details may change."
    what_changed: str = "What changed: every version of this update"
    every_version: str = "Every version of this update"
    live_updates: str = "live updates"
    withdrawn_text: str = "Withdrawn text"
    updates_on: str = "Updates on {title}"
    updates_subtitle: str = (
        "Every published version of every incident update, newest first. A correction, "
        "confirmation or retraction is a new entry; earlier entries are never changed."
    )
    # An entry whose text is the primary language's, and why (TranslationStatus).
    stale: str = "Translation being updated"
    missing: str = "Not yet translated"
    fallback_note: str = "This text is shown in the original language ({language}) until it is translated."

    def notice(self, kind: VersionKind) -> str | None:
        return {
            VersionKind.CORRECTION: self.correction,
            VersionKind.CONFIRMATION: self.confirmed,
            VersionKind.RETRACTION: self.retracted,
        }.get(kind)

    def prefix(self, kind: VersionKind, preliminary: bool, alert_status: AlertStatus) -> str:
        """wording.prefix in this language."""
        return "".join(
            f"{self.labels.get(label, label)}: " for label in wording.labels(kind, preliminary, alert_status)
        )

    def fallback(self, status: TranslationStatus | None) -> str:
        return self.stale if status is TranslationStatus.STALE else self.missing


ENGLISH = FeedPhrases()

SPANISH = FeedPhrases(
    labels={
        "CORRECTION": "CORRECCIÓN",
        "CONFIRMED": "CONFIRMADO",
        "PRELIMINARY": "PRELIMINAR",
        "RETRACTED": "RETIRADO",
        "EXERCISE": "SIMULACRO",
        "TEST": "PRUEBA",
    },
    correction="Corrección",
    confirmed="Confirmado",
    retracted="Retirado",
    not_real="esto no es un incidente real.",
    preliminary="Preliminar: aún sin confirmar; los detalles pueden cambiar.",
    what_changed="Qué cambió: todas las versiones de esta actualización",
    every_version="Todas las versiones de esta actualización",
    live_updates="actualizaciones en directo",
    withdrawn_text="Texto retirado",
    updates_on="Actualizaciones sobre {title}",
    updates_subtitle=(
        "Cada versión publicada de cada actualización de incidentes, la más reciente primero. "
        "Una corrección, confirmación o retirada es una entrada nueva; las anteriores nunca se modifican."
    ),
    stale="Traducción en actualización",
    missing="Aún sin traducir",
    fallback_note="Este texto se muestra en el idioma original ({language}) hasta que se traduzca.",
)

_BY_LANGUAGE = {"en": ENGLISH, "es": SPANISH}


def phrases_for(lang: str) -> FeedPhrases:
    """The words for `lang` (`es-MX` uses `es`), English when there is no table for it."""
    return _BY_LANGUAGE.get(lang.split("-")[0].lower(), ENGLISH)
