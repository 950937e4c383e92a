"""Who may talk to the bot (spec §11.2, adapted), and what a refused sender is told.

Allowed = ``telegram.allow_from`` plus the senders the owner approved
(``praktor telegram approve ID``). Unlike the original, an empty
``allow_from`` allows nobody. Anyone else is refused: their message is not
published, they are kept as *pending* for the owner to decide, and they are
told — at most once a day — their user id and that the owner must approve
them. A denied sender is refused silently.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Final

from praktor_common.contracts.telegram import SenderStatus

__all__ = ["NOTICE_EVERY", "SenderStatus", "allowed", "refusal_text"]

NOTICE_EVERY: Final = timedelta(days=1)
"""A refused sender is told at most this often."""


def allowed(user_id: int, allow_from: Collection[int], status: SenderStatus | None) -> bool:
    """True when the sender is listed in the config or was approved."""
    return user_id in allow_from or status == "approved"


def refusal_text(user_id: int) -> str:
    """What an unknown sender reads."""
    return (
        f"Hi! This is a private assistant. Your Telegram user id is {user_id}.\n"
        "The owner must approve you before I can answer: ask them to run "
        f"praktor telegram approve {user_id} (or to add {user_id} to telegram.allow_from)."
    )
