"""Commands of the Telegram gateway on ``svc.gateway-telegram.*``: who may talk to the bot.

``praktor telegram pending | approve ID | deny ID`` (and the web) ask the
gateway, which owns the ``telegram_senders`` table. A decision applies to the
next message at once, on every replica.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from praktor_common.contracts.base import Contract, UtcDatetime
from praktor_common.contracts.service import Command

SERVICE: Final = "gateway-telegram"

SenderStatus = Literal["pending", "approved", "denied"]


class SendersListRequest(Contract):
    status: SenderStatus | None = "pending"
    """Only senders with this status; ``None`` = all."""


class SenderInfo(Contract):
    user_id: int = Field(ge=1)
    username: str | None = None
    display_name: str | None = None
    status: SenderStatus
    first_seen_at: UtcDatetime
    last_seen_at: UtcDatetime


class SendersList(Contract):
    senders: list[SenderInfo]
    """Most recently seen first."""


class SenderDecision(Contract):
    user_id: int = Field(ge=1)
    """The Telegram user id (the number a refused sender was told)."""
    status: Literal["approved", "denied"]


class SenderDecided(Contract):
    user_id: int = Field(ge=1)
    status: Literal["approved", "denied"]
    known: bool
    """Whether this user had written to the bot before."""


_ADMIN = ("web", "cli")

SENDERS_LIST: Final = Command(
    SERVICE, "senders_list", SendersListRequest, SendersList, "Telegram senders by status.", _ADMIN
)
SENDER_DECIDE: Final = Command(
    SERVICE,
    "sender_decide",
    SenderDecision,
    SenderDecided,
    "Approve or deny a Telegram user (applies to their next message).",
    _ADMIN,
)

COMMANDS: Final = (SENDERS_LIST, SENDER_DECIDE)
