"""The orchestrator's tables: agents (sessions, extension status) and messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from praktor_common.contracts.agent import AgentInput, AgentResult
from praktor_common.contracts.files import Attachment
from praktor_common.contracts.ipc import HistoryMessage
from praktor_common.db.messages import insert_message
from praktor_common.db.models import Agent, Message
from praktor_common.db.search import message_search

AGENT_SENDER = "agent"


@dataclass(frozen=True)
class StoredMessage:
    """A message row: ``created`` is False when it was stored before (a redelivery)."""

    id: int
    created_at: dt.datetime
    created: bool


def input_role(sender: str) -> Literal["user", "system"]:
    return "system" if sender == "system" else "user"


class OrchestratorStore:
    """Reads and writes of the tables the orchestrator owns."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    # -- agents ---------------------------------------------------------------------------

    async def agent_exists(self, agent_id: str) -> bool:
        async with self.sessions() as session:
            found = await session.scalar(select(Agent.id).where(Agent.id == agent_id))
        return found is not None

    async def session_id(self, agent_id: str) -> str | None:
        async with self.sessions() as session:
            value: str | None = await session.scalar(
                select(Agent.session_id).where(Agent.id == agent_id)
            )
        return value

    async def clear_session(self, agent_id: str) -> None:
        async with self.sessions.begin() as session:
            await session.execute(update(Agent).where(Agent.id == agent_id).values(session_id=None))

    async def set_extension_status(self, agent_id: str, status: dict[str, Any]) -> bool:
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(Agent)
                .where(Agent.id == agent_id)
                .values(extension_status=status)
                .returning(Agent.id)
            )
            return result.first() is not None

    async def message_counts(self) -> dict[str, int]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(Message.agent_id, func.count()).group_by(Message.agent_id)
            )
        return {agent_id: int(count) for agent_id, count in rows.all()}

    # -- messages -------------------------------------------------------------------------

    async def search_history(self, agent_id: str, query: str, limit: int) -> list[HistoryMessage]:
        """The agent's messages matching ``query`` (user text is never parsed raw), best first."""
        async with self.sessions() as session:
            rows = (await session.scalars(message_search(agent_id, query, limit))).all()
        return [
            HistoryMessage(sender=row.sender, content=row.content, created_at=row.created_at)
            for row in rows
        ]

    async def store_input(self, message: AgentInput) -> StoredMessage | None:
        """Store an input once (by msg_id); None when its agent has no row (a swarm member)."""
        async with self.sessions.begin() as session:
            if not await _agent_known(session, message.agent_id):
                return None
            return await _insert_once(
                session,
                msg_id=message.msg_id,
                agent_id=message.agent_id,
                sender=message.sender,
                role=input_role(message.sender),
                content=message.text,
                meta=_input_meta(message),
                origin=message.origin.model_dump(mode="json"),
                created_at=message.created_at,
            )

    async def input_attachments(self, agent_id: str, msg_id: str) -> list[Attachment] | None:
        """The files of one of the agent's stored inputs; None when no such input is stored."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Message.meta).where(
                        Message.msg_id == msg_id, Message.agent_id == agent_id
                    )
                )
            ).first()
        if row is None:
            return None
        files = (row.meta or {}).get(ATTACHMENTS_META, [])
        return [Attachment.model_validate(a) for a in files]

    async def store_result(
        self, agent_id: str, result: AgentResult, content: str, *, keep_session: bool
    ) -> StoredMessage | None:
        """Store a redacted result once (by ``<msg_id>:result``) and, when it is the
        agent's conversation, persist its session id — one transaction."""
        async with self.sessions.begin() as session:
            if not await _agent_known(session, agent_id):
                return None
            meta = _correlation_meta(result.task_id, result.task_run_id, result.swarm_id)
            if result.abnormal:
                meta = {**(meta or {}), "terminal_reason": result.terminal_reason}
            stored = None
            if content or result.abnormal:
                stored = await _insert_once(
                    session,
                    msg_id=result_message_id(result.msg_id),
                    agent_id=agent_id,
                    sender=AGENT_SENDER,
                    role="assistant",
                    content=content,
                    meta=meta,
                    origin=result.origin.model_dump(mode="json"),
                    created_at=None,
                )
            if keep_session and result.session_id:
                await session.execute(
                    update(Agent).where(Agent.id == agent_id).values(session_id=result.session_id)
                )
            return stored


def result_message_id(msg_id: str) -> str:
    """The stored id of a turn's answer: the turn's msg_id names its input."""
    return f"{msg_id}:result"


async def _agent_known(session: AsyncSession, agent_id: str) -> bool:
    return (await session.scalar(select(Agent.id).where(Agent.id == agent_id))) is not None


async def _insert_once(
    session: AsyncSession,
    *,
    msg_id: str,
    agent_id: str,
    sender: str,
    role: str,
    content: str,
    meta: dict[str, Any] | None,
    origin: dict[str, Any] | None,
    created_at: dt.datetime | None,
) -> StoredMessage:
    row_id = await insert_message(
        session,
        msg_id=msg_id,
        agent_id=agent_id,
        sender=sender,
        role=role,
        content=content,
        meta=meta,
        origin=origin,
        created_at=created_at,
    )
    created = row_id is not None
    row = (
        await session.execute(
            select(Message.id, Message.created_at).where(Message.msg_id == msg_id)
        )
    ).one()
    return StoredMessage(id=int(row.id), created_at=row.created_at, created=created)


ATTACHMENTS_META = "attachments"


def _input_meta(message: AgentInput) -> dict[str, Any] | None:
    meta = _correlation_meta(message.task_id, message.task_run_id, message.swarm_id)
    if message.attachments:
        files = [a.model_dump(mode="json") for a in message.attachments]
        meta = {**(meta or {}), ATTACHMENTS_META: files}
    return meta


def _correlation_meta(
    task_id: str | None, task_run_id: str | None, swarm_id: str | None
) -> dict[str, Any] | None:
    meta = {"task_id": task_id, "task_run_id": task_run_id, "swarm_id": swarm_id}
    kept = {k: v for k, v in meta.items() if v is not None}
    return kept or None
