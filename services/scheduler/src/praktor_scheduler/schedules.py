"""Schedule normalisation (spec §13.1): what a person or agent wrote → a :class:`Schedule`.

Pure: no I/O, no clock reads (``now`` is passed in). Accepted forms, tried in order
on the trimmed text:

1. relative delay ``+<positive int><s|m|h>`` → ``once`` at ``now + delay``;
2. schedule JSON with a non-empty ``kind`` → validated and kept as written;
3. anything else is a cron expression in the gronx dialect (5 fields, 6 with a
   trailing year, 7 with leading seconds and trailing year, or an ``@tag``) →
   ``cron`` with the trimmed expression.

Computing the next run of a cron schedule is not done here (spec ``CalculateNextRun``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from praktor_common.contracts.scheduler import Schedule

__all__ = ["CRON_TAGS", "ScheduleError", "normalize_schedule"]

EXAMPLES: Final = (
    "'+30m' (once, in 30 minutes), '0 9 * * MON-FRI' (cron), '@daily' (cron tag), "
    'or \'{"kind": "interval", "interval_ms": 3600000}\''
)

CRON_TAGS: Final = frozenset(
    {
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
    }
)
"""Cron shorthands accepted as a whole expression (case-insensitive, kept as written)."""

_RELATIVE = re.compile(r"\+([0-9]+)([smh])")
_UNIT_MS: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000}
_KINDS: Final = ("cron", "interval", "once")


class ScheduleError(ValueError):
    """The text is not a schedule; the message says what is wrong and what works."""


def normalize_schedule(text: str, *, now: datetime, tz: ZoneInfo) -> Schedule:
    """Normalise ``text`` to a :class:`Schedule` (spec §13.1 ``NormalizeSchedule``).

    ``now`` anchors relative delays; a naive ``now`` is read as wall time in ``tz``.
    One-off times are stored as UTC epoch milliseconds. Raises :class:`ScheduleError`.
    """
    raw = text.strip()
    if not raw:
        raise ScheduleError(f"the schedule is empty; examples that work: {EXAMPLES}")

    relative = _RELATIVE.fullmatch(raw)
    if relative is not None and int(relative.group(1)) > 0:
        anchor = now if now.tzinfo is not None else now.replace(tzinfo=tz)
        delay = timedelta(milliseconds=int(relative.group(1)) * _UNIT_MS[relative.group(2)])
        return Schedule(kind="once", at_ms=_epoch_ms(anchor + delay))

    from_json = _from_json(raw)
    if from_json is not None:
        return from_json

    problem = cron_problem(raw)
    if problem is not None:
        raise ScheduleError(
            f"not valid JSON or cron expression ({problem}); examples that work: {EXAMPLES}"
        )
    return Schedule(kind="cron", cron_expr=raw)


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _from_json(raw: str) -> Schedule | None:
    """The schedule JSON in ``raw``, or ``None`` when ``raw`` is not schedule JSON."""
    try:
        data: object = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        return None
    if kind not in _KINDS:
        raise ScheduleError(
            f"unknown schedule kind {kind!r}: use 'cron', 'interval' or 'once'; "
            f"examples that work: {EXAMPLES}"
        )
    fields = {
        key: data[key] for key in ("kind", "cron_expr", "interval_ms", "at_ms") if key in data
    }
    for key in ("interval_ms", "at_ms"):
        value = fields.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ScheduleError(
                f"{key} must be a whole number of milliseconds, not {value!r}; "
                f"examples that work: {EXAMPLES}"
            )
    expr = fields.get("cron_expr", "")
    if not isinstance(expr, str):
        raise ScheduleError(f"cron_expr must be a string, not {expr!r}; examples: {EXAMPLES}")
    if kind == "cron":
        problem = cron_problem(expr.strip())
        if problem is not None:
            raise ScheduleError(
                f"invalid cron_expr {expr!r} ({problem}); examples that work: {EXAMPLES}"
            )
    elif kind == "interval" and fields.get("interval_ms", 0) <= 0:
        raise ScheduleError(
            "an interval schedule needs interval_ms > 0, "
            'e.g. \'{"kind": "interval", "interval_ms": 60000}\' (every minute)'
        )
    elif kind == "once" and fields.get("at_ms", 0) <= 0:
        raise ScheduleError(
            "a one-off schedule needs at_ms > 0 (UTC epoch milliseconds), "
            'e.g. \'{"kind": "once", "at_ms": 1771323600000}\' or simply \'+2h\''
        )
    try:
        return Schedule.model_validate(fields)
    except ValidationError as exc:  # pragma: no cover - the checks above mirror the model
        raise ScheduleError(f"invalid schedule JSON: {exc}; examples: {EXAMPLES}") from exc


# --- cron validation (gronx dialect) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    """Literal names mapped to ``low + index`` (months from 1, weekdays from 0)."""


_SECOND = _Field("second", 0, 59)
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY_OF_MONTH = _Field("day of month", 1, 31)
_MONTH = _Field(
    "month",
    1,
    12,
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
)
_DAY_OF_WEEK = _Field("day of week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
_YEAR = _Field("year", 1, 9999)

_BASE = (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK)
_LAYOUTS: Final = {5: _BASE, 6: (*_BASE, _YEAR), 7: (_SECOND, *_BASE, _YEAR)}

_NUMBER = re.compile(r"[0-9]+")
_NAME = re.compile(r"[A-Z]{3}")
_NTH_WEEKDAY = re.compile(r"([0-7])#([1-5])")
_LAST_WEEKDAY = re.compile(r"([0-7])L")
_NEAREST_WEEKDAY = re.compile(r"([0-9]{1,2})W")


def cron_problem(expr: str) -> str | None:
    """What is wrong with cron expression ``expr`` (already trimmed), or ``None`` if valid."""
    if expr.startswith("@"):
        if expr.lower() in CRON_TAGS:
            return None
        return f"unknown tag {expr!r}; tags are {', '.join(sorted(CRON_TAGS))}"
    parts = expr.upper().split()
    layout = _LAYOUTS.get(len(parts))
    if layout is None:
        return (
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"6 (plus year) or 7 (seconds first, plus year), not {len(parts)}"
        )
    for part, field in zip(parts, layout, strict=True):
        problem = _field_problem(part, field)
        if problem is not None:
            return problem
    return None


def _field_problem(part: str, field: _Field) -> str | None:
    if part == "?" and field in (_DAY_OF_MONTH, _DAY_OF_WEEK):
        return None
    numeric = _NAME.sub(lambda m: _name_value(m.group(0), field), part)
    for item in numeric.split(","):
        if not _item_ok(item, field):
            return f"{field.name} {part!r} is not valid (allowed {field.low}-{field.high})"
    return None


def _item_ok(item: str, field: _Field) -> bool:
    if field is _DAY_OF_MONTH:
        if item == "L":
            return True
        nearest = _NEAREST_WEEKDAY.fullmatch(item)
        if nearest is not None:
            return field.low <= int(nearest.group(1)) <= field.high
    if field is _DAY_OF_WEEK and (
        _NTH_WEEKDAY.fullmatch(item) is not None or _LAST_WEEKDAY.fullmatch(item) is not None
    ):
        return True
    base, slash, step = item.partition("/")
    if slash and (_NUMBER.fullmatch(step) is None or int(step) == 0):
        return False
    if base == "*":
        return True
    start_text, dash, end_text = base.partition("-")
    start = _value(start_text, field)
    if start is None:
        return False
    if not dash:
        return True
    end = _value(end_text, field)
    return end is not None and start <= end


def _name_value(name: str, field: _Field) -> str:
    """``MON`` → ``1`` in the weekday field, ``DEC`` → ``12`` in the month field; else as-is."""
    return str(field.low + field.names.index(name)) if name in field.names else name


def _value(text: str, field: _Field) -> int | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    number = int(text)
    return number if field.low <= number <= field.high else None
