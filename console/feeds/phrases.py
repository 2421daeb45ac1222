"""Every word the feeds and CAP messages write themselves, in the feed's language.

The text of an update is the PIO's (or a translator's); these are the labels and notices
around it. They are gettext messages (console/locale, `make messages`), shared with the live
page where it says the same thing; English is the wording the first feeds always had. A
language without a catalog gets the English words (its feeds still declare their language,
and the text of a current translation is still in it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from console.domain import wording
from console.domain.history import DETAIL_LABELS
from console.domain.translations import TranslationStatus
from console.i18n import LABELS, N_, gettext, in_language, label, language_name
from console.models import AlertStatus, VersionKind

CORRECTION = N_("Correction")
NOT_REAL = N_("this is not a real incident.")
PRELIMINARY = N_("Preliminary: not yet confirmed; details may change.")
WHAT_CHANGED = N_("What changed: every version of this update")
EVERY_VERSION = N_("Every version of this update")
LIVE_UPDATES = N_("live updates")
WITHDRAWN_TEXT = N_("Withdrawn text")
UPDATES_ON = N_("Updates on %(title)s")
UPDATES_SUBTITLE = N_(
    "Every published version of every incident update, newest first. A correction, "
    "confirmation or retraction is a new entry; earlier entries are never changed."
)
WHAT_TO_DO_NOW = N_("What to do now")
INCIDENT_DETAILS = N_("incident details")  # after the CORRECTION label of a details entry
WHAT_TO_DO = N_("What to do:")
FALLBACK_NOTE = N_("This text is shown in the original language (%(language)s) until it is translated.")


@dataclass(frozen=True)
class FeedPhrases:
    lang: str
    labels: dict[str, str]  # wording.labels() in this language (CORRECTION, PRELIMINARY, ...)
    correction: str
    confirmed: str
    retracted: str
    not_real: str
    preliminary: str
    what_changed: str
    every_version: str
    live_updates: str
    withdrawn_text: str
    updates_subtitle: str
    what_to_do_now: str  # the heading of a pinned update (issue 13.6), as on the live page
    what_to_do: str  # before a version's own instruction (issue 17), as on the live page
    # An entry whose text is the primary language's, and why (TranslationStatus).
    stale: str
    missing: str
    incident_details: str
    detail_labels: dict[str, str]  # a details field's name (history.DETAIL_LABELS) in this language

    def notice(self, kind: VersionKind) -> str | None:
        return {
            VersionKind.CORRECTION: self.correction,
            VersionKind.CONFIRMATION: self.confirmed,
            VersionKind.RETRACTION: self.retracted,
        }.get(kind)

    def prefix(
        self,
        kind: VersionKind,
        preliminary: bool,
        alert_status: AlertStatus,
        *,
        first_kind: VersionKind = VersionKind.ORIGINAL,
    ) -> str:
        """wording.prefix in this language."""
        return self.labelled(wording.labels(kind, preliminary, alert_status, first_kind=first_kind))

    def labelled(self, shown: Sequence[str]) -> str:
        """`LABEL: ` for each of `shown`, in this language."""
        return "".join(f"{self.labels.get(label, label)}: " for label in shown)

    def fallback(self, status: TranslationStatus | None) -> str:
        return self.stale if status is TranslationStatus.STALE else self.missing

    def updates_on(self, title: str) -> str:
        with in_language(self.lang):
            return gettext(UPDATES_ON) % {"title": title}

    def fallback_note(self, primary: str) -> str:
        """Says the text is in `primary`, named in this language."""
        with in_language(self.lang):
            return gettext(FALLBACK_NOTE) % {"language": language_name(primary)}


@functools.cache
def phrases_for(lang: str) -> FeedPhrases:
    """The words in `lang` (`es-MX` uses `es`), English where there is no catalog for it."""
    with in_language(lang):
        return FeedPhrases(
            lang=lang,
            labels={key: label(key) for key in LABELS},
            correction=gettext(CORRECTION),
            confirmed=gettext("Confirmed"),
            retracted=gettext("Retracted"),
            not_real=gettext(NOT_REAL),
            preliminary=gettext(PRELIMINARY),
            what_changed=gettext(WHAT_CHANGED),
            every_version=gettext(EVERY_VERSION),
            live_updates=gettext(LIVE_UPDATES),
            withdrawn_text=gettext(WITHDRAWN_TEXT),
            updates_subtitle=gettext(UPDATES_SUBTITLE),
            what_to_do_now=gettext(WHAT_TO_DO_NOW),
            what_to_do=gettext(WHAT_TO_DO),
            # the live page's notices, without their full stop: they also go in [brackets]
            stale=gettext("Translation being updated.").rstrip("."),
            missing=gettext("Not translated yet.").rstrip("."),
            incident_details=gettext(INCIDENT_DETAILS),
            detail_labels={name: gettext(words) for name, words in DETAIL_LABELS.items()},
        )


ENGLISH = phrases_for("en")
