"""The time zone people see: IANA names, and the machine's own zone as default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

FALLBACK: Final = "UTC"
LOCALTIME: Final = Path("/etc/localtime")
TIMEZONE_FILE: Final = Path("/etc/timezone")


class UnknownTimeZoneError(ValueError):
    """A name that is not an IANA time zone on this machine."""


def validate_timezone(name: str) -> str:
    """Return ``name`` if ``zoneinfo`` knows it, else raise with what is allowed."""
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise UnknownTimeZoneError(
            "is not a known time zone; use an IANA name like 'Europe/Berlin', "
            "'America/New_York' or 'UTC'"
        ) from None
    return name


def _name_from_path(path: str) -> str | None:
    marker = "zoneinfo/"
    index = path.rfind(marker)
    return path[index + len(marker) :] if index >= 0 else None


def _valid(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return validate_timezone(name)
    except UnknownTimeZoneError:
        return None


def detect_local_timezone(
    environ: Mapping[str, str],
    *,
    localtime: Path = LOCALTIME,
    timezone_file: Path = TIMEZONE_FILE,
) -> str:
    """This machine's IANA zone name: ``TZ``, else ``/etc/localtime``'s target, else
    ``/etc/timezone``, else ``"UTC"``. Names zoneinfo does not know are skipped."""
    tz = environ.get("TZ", "").strip().removeprefix(":")
    candidate = _valid(_name_from_path(tz) if tz.startswith("/") else tz)
    if candidate:
        return candidate
    try:
        target = os.readlink(localtime)
    except OSError:
        target = ""
    candidate = _valid(_name_from_path(target))
    if candidate:
        return candidate
    try:
        lines = timezone_file.read_text(encoding="utf-8").split()
    except OSError:
        lines = []
    candidate = _valid(lines[0] if lines else None)
    return candidate or FALLBACK
