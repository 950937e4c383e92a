"""Keeping the ``agents`` table in step with the config (owner: orchestrator).

Agents are never deleted: one that leaves the config is marked removed and
keeps its messages, tasks and memories; adding it back revives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from praktor_common.db.models import Agent


async def upsert_agent(
    session: AsyncSession,
    *,
    id: str,
    workspace: str,
    name: str | None = None,
    description: str = "",
    model: str = "",
    image: str = "",
    claude_md: str = "",
) -> None:
    """Insert or update an agent from its config; a removed agent comes back.

    ``created_at``, ``session_id`` and ``extension_status`` are kept on update.
    """
    values = {
        "id": id,
        "name": name if name is not None else id,
        "description": description,
        "model": model,
        "image": image,
        "workspace": workspace,
        "claude_md": claude_md,
    }
    stmt = insert(Agent).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Agent.id],
        set_={
            **{key: stmt.excluded[key] for key in values if key != "id"},
            "removed_at": None,
            "updated_at": func.now(),
        },
    )
    await session.execute(stmt)


async def mark_removed_except(session: AsyncSession, keep: Iterable[str]) -> Sequence[str]:
    """Mark every live agent whose id is not in ``keep`` as removed; return their ids.

    An empty ``keep`` removes all agents (the config defines none).
    """
    keep_ids = list(keep)
    stmt = (
        update(Agent)
        .where(Agent.removed_at.is_(None), Agent.id.not_in(keep_ids))
        .values(removed_at=func.now(), updated_at=func.now())
        .returning(Agent.id)
    )
    return sorted((await session.scalars(stmt)).all())
