"""The agency's identity as every public surface shows it (issue 18): whose page this is and
where to call. Pages, feeds, CAP messages, emails and the offline snapshot take it from here."""

from __future__ import annotations

from console import i18n
from console.settings import Settings

EMERGENCY_NOTICE = i18n.N_("In an emergency, call 911.")
LOGO_PATH = "/agency/logo"


def emergency_notice(settings: Settings) -> str:
    """EMERGENCY_NOTICE as set, or the default in the language being rendered."""
    return settings.emergency_notice or i18n.gettext(EMERGENCY_NOTICE)


def notice_is_translated(settings: Settings) -> bool:
    """Whether the notice is in the page's language (the default) or as the agency wrote it
    (in the primary language, which a page in another language marks with `lang`)."""
    return settings.emergency_notice is None
