"""The base every contract stands on, and the small types they share.

Contracts are frozen, refuse unknown fields and validate strictly (no ``"5"``
for an int, no ``1`` for a bool); datetimes are the one lax field so that ISO
strings decoded from JSON are accepted, but they must carry a time zone and are
normalised to UTC.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from praktor_common import ids


class Contract(BaseModel):
    """Base of every payload on the bus."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


def utc_now() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, Field(strict=False), AfterValidator(_to_utc)]
"""A tz-aware datetime (naive ones are refused), normalised to UTC."""

_UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Uuid = Annotated[
    str, StringConstraints(pattern=_UUID_PATTERN), Field(json_schema_extra={"format": "uuid"})
]
"""A UUID in canonical lowercase text form (ids of tasks, runs, swarms)."""

MsgId = Uuid
"""A message id: UUIDv7 text from :func:`praktor_common.ids.new_id`."""

AgentId = Annotated[
    ids.AgentId,
    Field(
        json_schema_extra={
            "pattern": r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
            "maxLength": ids.AGENT_ID_MAX,
        }
    ),
]
""":data:`praktor_common.ids.AgentId`, with its rule spelled out in the JSON schema."""

Text = Annotated[str, StringConstraints(min_length=1)]
"""Non-empty text."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A short human label (task name, swarm name)."""

Token = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S+$")]
"""An opaque id without whitespace (chat ids, user ids, channel message ids)."""

SecretName = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\s\x00-\x1f]+$")
]
"""A secret's name (also its id): no whitespace or control characters."""

TerminalReason = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
"""Why a turn ended: ``completed``, ``max_turns``, ``blocking_limit``, ``aborted_tools``, …"""


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like 'Europe/Berlin')"
        ) from None
    return value


TimeZoneName = Annotated[
    str, StringConstraints(min_length=1, max_length=64), AfterValidator(_check_zone)
]
"""An IANA time zone name."""

MAX_FILE_BYTES = 12 * 1024 * 1024
"""Largest file sent inline as base64 (spec §7.9 ``file_send``)."""


def _check_base64(value: str) -> str:
    if len(value) > (MAX_FILE_BYTES + 2) // 3 * 4:
        raise ValueError(f"inline data is larger than {MAX_FILE_BYTES} bytes")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not standard base64: {exc}") from None
    return value


Base64Data = Annotated[
    str, AfterValidator(_check_base64), Field(json_schema_extra={"contentEncoding": "base64"})
]
"""Standard base64 (with padding), at most :data:`MAX_FILE_BYTES` once decoded."""
