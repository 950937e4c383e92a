"""Golden tests for schedule normalisation (spec §13.1 ``NormalizeSchedule``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from praktor_common.contracts.scheduler import Schedule
from praktor_scheduler.schedules import ScheduleError, normalize_schedule

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-02-17 10:20:00 in Berlin (CET, UTC+1) == 09:20:00 UTC.
NOW = datetime(2026, 2, 17, 9, 20, tzinfo=UTC)
NOW_MS = 1_771_320_000_000


@pytest.fixture(autouse=True, params=["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def process_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every case must hold whatever the process TZ env is."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def normalize(text: str) -> Schedule:
    return normalize_schedule(text, now=NOW, tz=BERLIN)


def cron(expr: str) -> Schedule:
    return Schedule(kind="cron", cron_expr=expr)


def test_now_constant_is_the_epoch_ms_of_now() -> None:
    assert int(NOW.timestamp() * 1000) == NOW_MS


# --- relative delays ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delay_ms"),
    [("+30s", 30_000), ("+5m", 300_000), ("+2h", 7_200_000), ("+90m", 5_400_000)],
)
def test_relative_delay_is_a_one_off_at_now_plus_delay(text: str, delay_ms: int) -> None:
    assert normalize(text) == Schedule(kind="once", at_ms=NOW_MS + delay_ms)


def test_relative_delay_is_trimmed_first() -> None:
    assert normalize("  +5m\n") == Schedule(kind="once", at_ms=NOW_MS + 300_000)


def test_relative_delay_from_a_naive_now_reads_it_as_wall_time_in_tz() -> None:
    naive_berlin_now = datetime(2026, 2, 17, 10, 20)  # == NOW in Europe/Berlin
    result = normalize_schedule("+5m", now=naive_berlin_now, tz=BERLIN)
    assert result == Schedule(kind="once", at_ms=NOW_MS + 300_000)


def test_relative_delay_from_an_aware_now_ignores_tz() -> None:
    result = normalize_schedule("+1h", now=NOW, tz=ZoneInfo("Pacific/Auckland"))
    assert result == Schedule(kind="once", at_ms=NOW_MS + 3_600_000)


@pytest.mark.parametrize("text", ["+0s", "+5d", "+1.5h", "+m", "+-5m"])
def test_malformed_relative_delay_falls_through_and_is_rejected(text: str) -> None:
    with pytest.raises(ScheduleError, match="not valid JSON or cron expression"):
        normalize(text)


# --- schedule JSON --------------------------------------------------------------------


def test_cron_json_is_kept_as_written() -> None:
    text = '{"kind": "cron", "cron_expr": "0 9 * * MON-FRI", "interval_ms": 0, "at_ms": 0}'
    assert normalize(text) == cron("0 9 * * MON-FRI")


def test_interval_json_is_kept_as_written() -> None:
    text = '{"kind": "interval", "interval_ms": 3600000}'
    assert normalize(text) == Schedule(kind="interval", interval_ms=3_600_000)


def test_once_json_is_kept_as_written() -> None:
    text = '{"kind": "once", "at_ms": 1771323600000}'
    assert normalize(text) == Schedule(kind="once", at_ms=1_771_323_600_000)


def test_json_with_an_invalid_cron_expr_is_rejected() -> None:
    with pytest.raises(ScheduleError, match=r"invalid cron_expr '61 \* \* \* \*'"):
        normalize('{"kind": "cron", "cron_expr": "61 * * * *"}')


def test_interval_json_without_a_positive_interval_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="interval_ms > 0"):
        normalize('{"kind": "interval", "interval_ms": 0}')


def test_once_json_without_a_positive_time_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="at_ms > 0"):
        normalize('{"kind": "once"}')


def test_json_with_an_unknown_kind_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="unknown schedule kind 'weekly'"):
        normalize('{"kind": "weekly"}')


def test_json_with_a_non_integer_number_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="interval_ms must be a whole number"):
        normalize('{"kind": "interval", "interval_ms": "60000"}')


@pytest.mark.parametrize("text", ['{"kind": ""}', '{"cron_expr": "* * * * *"}', "[1, 2]"])
def test_json_without_a_kind_is_read_as_cron_and_rejected(text: str) -> None:
    with pytest.raises(ScheduleError, match="not valid JSON or cron expression"):
        normalize(text)


# --- cron expressions ----------------------------------------------------------------


def test_five_field_cron_is_wrapped_trimmed() -> None:
    assert normalize("  */15 9-17 * * 1-5 ") == cron("*/15 9-17 * * 1-5")


def test_six_field_cron_has_a_trailing_year() -> None:
    assert normalize("20 10 17 2 * 2026") == cron("20 10 17 2 * 2026")


def test_seven_field_cron_has_leading_seconds_and_trailing_year() -> None:
    assert normalize("30 0 9 * * * *") == cron("30 0 9 * * * *")


@pytest.mark.parametrize(
    "tag",
    [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@hourly",
        "@5minutes",
        "@10minutes",
        "@15minutes",
        "@30minutes",
        "@always",
        "@everysecond",
        "@Daily",
    ],
)
def test_cron_tags_are_kept_as_written(tag: str) -> None:
    assert normalize(tag) == cron(tag)


@pytest.mark.parametrize("expr", ["0 9 * JAN-MAR MON-FRI", "0 0 1 dec sun", "0 8 ? * SAT,SUN"])
def test_month_and_weekday_names_are_accepted(expr: str) -> None:
    assert normalize(expr) == cron(expr)


@pytest.mark.parametrize(
    "expr",
    ["0 0 L * *", "0 9 15W * *", "0 9 * * 5L", "0 9 * * MON#2", "0 9 * * 1#1,3#3"],
)
def test_last_nearest_weekday_and_nth_weekday_modifiers_are_accepted(expr: str) -> None:
    assert normalize(expr) == cron(expr)


def test_schedule_serialises_with_all_four_keys() -> None:
    assert json.loads(normalize("@daily").model_dump_json()) == {
        "kind": "cron",
        "cron_expr": "@daily",
        "interval_ms": 0,
        "at_ms": 0,
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("* * * *", "not 4"),
        ("0 0 0 0 0 0 0 0", "not 8"),
        ("60 * * * *", "minute '60'"),
        ("0 24 * * *", "hour '24'"),
        ("0 0 32 * *", "day of month '32'"),
        ("0 0 * 13 *", "month '13'"),
        ("0 0 * * 8", "day of week '8'"),
        ("*/0 * * * *", "minute '*/0'"),
        ("0 9 * * FRI-MON", "day of week 'FRI-MON'"),
        ("0 9 * MON * ", "month 'MON'"),
        ("@fortnightly", "unknown tag '@fortnightly'"),
        ("every day at nine", "not 4"),
    ],
)
def test_invalid_cron_says_what_is_wrong_and_what_works(text: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match="not valid JSON or cron expression") as caught:
        normalize(text)
    message = str(caught.value)
    assert problem in message
    assert "examples that work: '+30m'" in message


def test_empty_schedule_is_rejected_with_examples() -> None:
    with pytest.raises(ScheduleError, match="the schedule is empty; examples that work"):
        normalize("   ")
