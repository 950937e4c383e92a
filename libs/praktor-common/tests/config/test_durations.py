"""Durations are Go-style text with a unit, held as timedelta."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from praktor_common.config.durations import DurationError, format_duration, parse_duration
from praktor_common.config.model import DefaultsConfig


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h45m10s", timedelta(hours=2, minutes=45, seconds=10)),
        ("1.5h", timedelta(minutes=90)),
        (".5s", timedelta(milliseconds=500)),
        ("250ms", timedelta(milliseconds=250)),
        ("1500us", timedelta(microseconds=1500)),
        ("1500µs", timedelta(microseconds=1500)),
        ("2000000ns", timedelta(milliseconds=2)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("+5m", timedelta(minutes=5)),
        ("48h", timedelta(days=2)),
    ],
)
def test_go_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "10 m", "1d", "m", "1h-5m", "abc", "1.2.3s"])
def test_text_that_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(DurationError, match=r'"30s", "10m" or "1h30m"'):
        parse_duration(text)


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(DurationError, match="must not be negative"):
        parse_duration("-5m")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=1, seconds=5), "1h5s"),
        (timedelta(days=1), "24h"),
        (timedelta(seconds=1, milliseconds=500), "1s500ms"),
        (timedelta(microseconds=1500), "1ms500us"),
    ],
)
def test_durations_format_as_the_shortest_go_text(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


def test_a_negative_timedelta_is_refused_by_the_model() -> None:
    with pytest.raises(ValidationError, match="must not be negative"):
        DefaultsConfig(idle_timeout=timedelta(seconds=-1))
    assert DefaultsConfig(idle_timeout=timedelta(0)).idle_timeout == timedelta(0)
