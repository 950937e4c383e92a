"""The ``telegram_senders`` table: who wrote to the bot and what the owner decided.

Owned by the gateway. Every statement is a single atomic upsert/update, so
several replicas (or the CLI through the gateway) never race: in particular
"tell a refused sender at most once a day" is one conditional ``UPDATE``
that only one replica can win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.db.models import TelegramSender
from praktor_gateway_telegram.access import NOTICE_EVERY, SenderStatus


@dataclass(frozen=True)
class Sender:
    """One row, as the CLI shows it."""

    user_id: int
    username: str | None
    display_name: str | None
    status: SenderStatus
    first_seen_at: datetime
    last_seen_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


class SenderStore:
    """Reads and writes ``telegram_senders``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def status(self, user_id: int) -> SenderStatus | None:
        """The owner's decision about ``user_id``; ``None`` when they never wrote."""
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(TelegramSender.status).where(TelegramSender.user_id == user_id)
            )
        return cast("SenderStatus | None", found)

    async def refused(
        self,
        user_id: int,
        username: str | None,
        display_name: str | None,
        now: datetime | None = None,
    ) -> bool:
        """Record a refused message (a new sender becomes pending).

        Returns True when the sender should be told now: pending and not told in
        the last day. The "told" mark is set in the same step, so only one caller
        ever gets True for a given day.
        """
        now = now or _now()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(TelegramSender)
                .values(
                    user_id=user_id,
                    username=username,
                    display_name=display_name,
                    status="pending",
                    first_seen_at=now,
                    last_seen_at=now,
                )
                .on_conflict_do_update(
                    index_elements=[TelegramSender.user_id],
                    set_={
                        "username": username,
                        "display_name": display_name,
                        "last_seen_at": now,
                    },
                )
            )
            told = await conn.scalar(
                update(TelegramSender)
                .where(
                    TelegramSender.user_id == user_id,
                    TelegramSender.status == "pending",
                    or_(
                        TelegramSender.last_notified_at.is_(None),
                        TelegramSender.last_notified_at <= now - NOTICE_EVERY,
                    ),
                )
                .values(last_notified_at=now)
                .returning(TelegramSender.user_id)
            )
        return told is not None

    async def decide(self, user_id: int, status: SenderStatus) -> bool:
        """Approve or deny ``user_id`` (known or not); True when they had written before."""
        now = _now()
        async with self.engine.begin() as conn:
            existed = await conn.scalar(
                select(TelegramSender.user_id).where(TelegramSender.user_id == user_id)
            )
            await conn.execute(
                insert(TelegramSender)
                .values(
                    user_id=user_id,
                    status=status,
                    first_seen_at=now,
                    last_seen_at=now,
                    decided_at=now,
                )
                .on_conflict_do_update(
                    index_elements=[TelegramSender.user_id],
                    set_={"status": status, "decided_at": now},
                )
            )
        return existed is not None

    async def listing(self, status: SenderStatus | None = "pending") -> Sequence[Sender]:
        """Senders with ``status`` (all when ``None``), most recent first."""
        query = select(TelegramSender).order_by(
            TelegramSender.last_seen_at.desc(), TelegramSender.user_id
        )
        if status is not None:
            query = query.where(TelegramSender.status == status)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Sender(
                user_id=row.user_id,
                username=row.username,
                display_name=row.display_name,
                status=cast("SenderStatus", row.status),
                first_seen_at=row.first_seen_at,
                last_seen_at=row.last_seen_at,
            )
            for row in rows
        ]
