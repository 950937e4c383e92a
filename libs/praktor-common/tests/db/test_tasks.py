"""A due task occurrence is claimed by exactly one scheduler replica."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.db.models import ScheduledTask, TaskRun
from praktor_common.db.tasks import claim_task_run

pytestmark = pytest.mark.integration

DUE = dt.datetime(2026, 2, 17, 4, 35, tzinfo=dt.UTC)


@pytest.fixture
async def sessions(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    factory = session_factory(migrated_engine)
    async with factory.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        session.add(
            ScheduledTask(
                id="daily",
                agent_id="coder",
                name="daily digest",
                schedule={"kind": "cron", "cron_expr": "0 9 * * *", "interval_ms": 0, "at_ms": 0},
                prompt="Reply with: good morning",
                next_run_at=DUE,
            )
        )
    return factory


async def test_the_first_claim_wins_and_a_second_claim_of_the_same_occurrence_loses(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        first = await claim_task_run(
            session, task_id="daily", scheduled_for=DUE, claimed_by="replica-a"
        )
    async with sessions.begin() as session:
        second = await claim_task_run(
            session, task_id="daily", scheduled_for=DUE, claimed_by="replica-b"
        )

    assert first is not None
    assert second is None
    async with sessions() as session:
        runs = (await session.scalars(select(TaskRun))).all()
    assert [(r.claimed_by, r.status, r.scheduled_for) for r in runs] == [
        ("replica-a", "running", DUE)
    ]


async def test_replicas_claiming_at_the_same_time_get_exactly_one_run(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def replica(name: str) -> int | None:
        async with sessions.begin() as session:
            return await claim_task_run(
                session, task_id="daily", scheduled_for=DUE, claimed_by=name
            )

    claims = await asyncio.gather(*(replica(f"replica-{i}") for i in range(6)))

    assert sum(claim is not None for claim in claims) == 1


async def test_the_same_instant_in_another_time_zone_is_the_same_occurrence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    kathmandu = dt.timezone(dt.timedelta(hours=5, minutes=45))
    async with sessions.begin() as session:
        assert await claim_task_run(session, task_id="daily", scheduled_for=DUE) is not None
        assert (
            await claim_task_run(session, task_id="daily", scheduled_for=DUE.astimezone(kathmandu))
            is None
        )


async def test_each_occurrence_of_a_task_gets_its_own_run(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        today = await claim_task_run(session, task_id="daily", scheduled_for=DUE)
        tomorrow = await claim_task_run(
            session, task_id="daily", scheduled_for=DUE + dt.timedelta(days=1)
        )
    assert today is not None
    assert tomorrow is not None
    assert today != tomorrow


async def test_a_run_cannot_have_an_unknown_status(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(IntegrityError, match="ck_task_runs_status"):
        async with sessions.begin() as session:
            await claim_task_run(session, task_id="daily", scheduled_for=DUE, status="exploded")


async def test_deleting_a_task_deletes_its_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await claim_task_run(session, task_id="daily", scheduled_for=DUE)
    async with sessions.begin() as session:
        await session.execute(delete(ScheduledTask).where(ScheduledTask.id == "daily"))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TaskRun)) == 0


async def test_a_task_status_outside_active_paused_completed_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def set_status(status: str) -> None:
        async with sessions.begin() as session:
            task = await session.get_one(ScheduledTask, "daily")
            task.status = status

    await set_status("paused")
    await set_status("completed")
    with pytest.raises(IntegrityError, match="ck_scheduled_tasks_status"):
        await set_status("whatever")
