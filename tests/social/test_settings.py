"""Social settings: all credentials or none, clear errors for anything half set."""

from __future__ import annotations

import pytest

from console.settings import Settings, SettingsError

X_ALL = {
    "X_API_KEY": "k",
    "X_API_SECRET": "s",
    "X_ACCESS_TOKEN": "t",
    "X_ACCESS_TOKEN_SECRET": "sekrit-token-secret",
}


def test_the_default_runs_both_social_channels_in_preview() -> None:
    settings = Settings.from_environ({})
    assert {"x", "mastodon"} <= set(settings.channels)
    assert not settings.x_configured and not settings.mastodon_configured
    assert settings.social_request_timeout_seconds == 20.0


def test_full_credentials_are_read() -> None:
    settings = Settings.from_environ(
        {
            **X_ALL,
            "X_API_BASE_URL": "http://127.0.0.1:9/",
            "MASTODON_BASE_URL": "https://social.example",
            "MASTODON_ACCESS_TOKEN": "m",
            "SOCIAL_REQUEST_TIMEOUT_SECONDS": "7.5",
        }
    )
    assert settings.x_configured and settings.mastodon_configured
    assert (
        str(settings.x_access_token_secret) == "sekrit-token-secret"
        and settings.x_api_base_url == "http://127.0.0.1:9"
    )
    assert "sekrit" not in repr(settings), "secrets stay out of logs"
    assert settings.social_request_timeout_seconds == 7.5


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"X_API_KEY": "k", "X_API_SECRET": "s"}, "X_ACCESS_TOKEN"),
        ({**X_ALL, "X_ACCESS_TOKEN_SECRET": " "}, "X_ACCESS_TOKEN_SECRET"),
        ({"MASTODON_ACCESS_TOKEN": "m"}, "MASTODON_BASE_URL"),
        ({"MASTODON_BASE_URL": "https://social.example"}, "MASTODON_ACCESS_TOKEN"),
        ({"MASTODON_BASE_URL": "social.example", "MASTODON_ACCESS_TOKEN": "m"}, r"absolute http\(s\) URL"),
        ({"X_API_BASE_URL": "ftp://proxy"}, "X_API_BASE_URL"),
        ({"SOCIAL_REQUEST_TIMEOUT_SECONDS": "0"}, "SOCIAL_REQUEST_TIMEOUT_SECONDS"),
        ({"SOCIAL_REQUEST_TIMEOUT_SECONDS": "31"}, "at most 30"),
        ({"CHANNELS": "live,twitter"}, None),
    ],
)
def test_half_set_or_wrong_settings_are_refused_with_the_name(
    environ: dict[str, str], message: str | None
) -> None:
    if message is None:  # an unknown channel is refused when the channels are built
        from console.channels.registry import routing

        with pytest.raises(SettingsError, match="twitter"):
            routing(Settings.from_environ(environ))
        return
    with pytest.raises(SettingsError, match=message):
        Settings.from_environ(environ)
