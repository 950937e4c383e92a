"""Claiming scheduled task runs safely across replicas (owner: scheduler)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from praktor_common.db.models import TaskRun


async def claim_task_run(
    session: AsyncSession,
    *,
    task_id: str,
    scheduled_for: dt.datetime,
    claimed_by: str | None = None,
    status: str = "running",
) -> int | None:
    """Claim the occurrence of ``task_id`` due at ``scheduled_for``.

    Returns the new run id when this caller won the claim, ``None`` when
    another replica (or an earlier attempt) already claimed that occurrence.
    The unique key ``(task_id, scheduled_for)`` decides; the claim is final
    when the surrounding transaction commits.
    """
    stmt = (
        insert(TaskRun)
        .values(
            task_id=task_id,
            scheduled_for=scheduled_for,
            claimed_by=claimed_by,
            status=status,
        )
        .on_conflict_do_nothing(index_elements=[TaskRun.task_id, TaskRun.scheduled_for])
        .returning(TaskRun.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
