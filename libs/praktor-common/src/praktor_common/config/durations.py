"""Go-style durations (``"30s"``, ``"10m"``, ``"1h30m"``, ``"250ms"``) held as ``timedelta``.

The original read durations with Go's ``time.ParseDuration``; configs written
for it keep working. A bare number is refused: Go reads ``30`` as 30
nanoseconds, a person means 30 seconds, so we ask for the unit. The one
exception is ``0``, which means the same in every unit.
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

EXAMPLE: Final = 'write a duration like "30s", "10m" or "1h30m"'

_NANOS_PER_UNIT: Final[dict[str, int]] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_COMPONENT = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_WHOLE = re.compile(rf"(?:{_COMPONENT.pattern})+")


class DurationError(ValueError):
    """Text that is not a Go-style duration."""


def parse_duration(text: str) -> timedelta:
    """Parse ``"1h30m"``-style text (Go's ``time.ParseDuration`` syntax, no sign)."""
    value = text.strip()
    if value.startswith("-"):
        raise DurationError(f"must not be negative; {EXAMPLE}")
    value = value.removeprefix("+")
    if value == "0":
        return timedelta(0)
    if not value or not _WHOLE.fullmatch(value):
        raise DurationError(f"is not a duration; {EXAMPLE} (units: ns, us, ms, s, m, h)")
    nanos = sum(
        Fraction(number) * _NANOS_PER_UNIT[unit] for number, unit in _COMPONENT.findall(value)
    )
    return timedelta(microseconds=round(nanos / 1000))


def format_duration(value: timedelta) -> str:
    """The shortest Go-style text for ``value`` (``timedelta(minutes=90)`` → ``"1h30m"``)."""
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if micros < 0:
        raise DurationError("must not be negative")
    if micros == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in (("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000)):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    if micros:
        parts.append(f"{micros}us")
    return "".join(parts)


def _coerce(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise DurationError(f"is not a duration; {EXAMPLE}")
    if isinstance(value, int | float):
        if value == 0:
            return timedelta(0)
        raise DurationError(
            f'a bare number has no unit; write e.g. "{value}s" (units: ns, us, ms, s, m, h)'
        )
    if isinstance(value, str):
        return parse_duration(value)
    raise DurationError(f"is not a duration; {EXAMPLE}")


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise DurationError(f"must not be negative; {EXAMPLE}")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    AfterValidator(_non_negative),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A config duration: Go-style text in YAML and JSON, ``timedelta`` in Python."""
