"""The live page's settings are checked when the console starts."""

from __future__ import annotations

import pytest

from console.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_environ({})
    assert settings.broadcast_url == "memory://"
    assert settings.broadcast_topic == "console_live"
    assert (settings.live_resume_max_events, settings.live_send_buffer) == (200, 32)
    assert (settings.live_ping_seconds, settings.live_hello_seconds, settings.live_poll_seconds) == (
        20,
        10,
        5,
    )
    assert (settings.live_max_message_bytes, settings.public_cache_seconds) == (1024, 5)
    assert settings.public_timeline_limit == 50


def test_values_from_the_environment() -> None:
    settings = Settings.from_environ(
        {
            "BROADCAST_URL": "redis://cache.internal:6379/2",
            "BROADCAST_TOPIC": "city_live",
            "LIVE_RESUME_MAX_EVENTS": "500",
            "LIVE_SEND_BUFFER": "8",
            "LIVE_PING_SECONDS": "30",
            "LIVE_HELLO_SECONDS": "5",
            "LIVE_POLL_SECONDS": "2.5",
            "LIVE_MAX_MESSAGE_BYTES": "256",
            "PUBLIC_CACHE_SECONDS": "0",
            "PUBLIC_TIMELINE_LIMIT": "20",
        }
    )
    assert settings.broadcast_url == "redis://cache.internal:6379/2"
    assert settings.broadcast_topic == "city_live"
    assert settings.live_resume_max_events == 500 and settings.live_send_buffer == 8
    assert settings.live_poll_seconds == 2.5 and settings.public_cache_seconds == 0
    assert settings.public_timeline_limit == 20 and settings.live_max_message_bytes == 256


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BROADCAST_URL", "amqp://broker", "BROADCAST_URL must start with one of memory://, redis://"),
        ("BROADCAST_URL", "localhost:6379", "BROADCAST_URL must start with one of"),
        ("BROADCAST_TOPIC", "Live Updates", "BROADCAST_TOPIC must be"),
        ("LIVE_SEND_BUFFER", "eight", "LIVE_SEND_BUFFER has value 'eight', which is not valid"),
        ("OUTBOX_IN_PROCESS", "maybe", "OUTBOX_IN_PROCESS has value 'maybe', which is not valid"),
        ("LIVE_SEND_BUFFER", "0", "LIVE_SEND_BUFFER must be positive"),
        ("LIVE_RESUME_MAX_EVENTS", "-1", "LIVE_RESUME_MAX_EVENTS must be positive"),
        ("LIVE_PING_SECONDS", "0", "LIVE_PING_SECONDS must be positive"),
        ("PUBLIC_CACHE_SECONDS", "-5", "PUBLIC_CACHE_SECONDS must be 0 or more"),
    ],
)
def test_a_wrong_value_is_refused_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_environ({name: value})


def test_the_former_name_of_the_broadcast_topic_still_works() -> None:
    """Deployments that set BROADCAST_CHANNEL before it was renamed keep their topic; the new
    name wins when both are set."""
    assert Settings.from_environ({"BROADCAST_CHANNEL": "city_live"}).broadcast_topic == "city_live"
    both = {"BROADCAST_CHANNEL": "old_name", "BROADCAST_TOPIC": "new_name"}
    assert Settings.from_environ(both).broadcast_topic == "new_name"
