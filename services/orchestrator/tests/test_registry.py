"""The agents table and the agents' files follow the config; history is never lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common.db.messages import insert_message
from praktor_common.db.models import Agent, Message
from praktor_common.ids import new_id
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.registry import AgentRegistry
from services.orchestrator.tests.harness import make_config

pytestmark = pytest.mark.integration


async def rows(engine: AsyncEngine) -> dict[str, Agent]:
    async with AsyncSession(engine) as session:
        return {a.id: a for a in (await session.scalars(select(Agent))).all()}


async def test_configured_agents_get_a_row_a_workspace_and_the_shared_files(
    migrated_engine: AsyncEngine, data_dir: Path
) -> None:
    registry = AgentRegistry(migrated_engine, AgentPaths(data_dir))
    config = make_config(
        {
            "coder": {"description": "Writes code", "model": "claude-x"},
            "writer": {"workspace": "words"},
        }
    )

    result = await registry.sync(config)

    assert result.live == ("coder", "writer")
    agents = await rows(migrated_engine)
    assert (agents["coder"].description, agents["coder"].model) == ("Writes code", "claude-x")
    assert agents["writer"].workspace == "words"
    assert all(a.removed_at is None for a in agents.values())
    agents_dir = data_dir / "agents"
    assert (agents_dir / "coder" / "AGENT.md").read_text().startswith("# Agent Identity")
    assert (agents_dir / "coder" / "CLAUDE.md").read_text().startswith("# Agent Memory")
    assert (agents_dir / "words" / "AGENT.md").exists()
    assert (agents_dir / "global" / "CLAUDE.md").read_text().startswith("# Global Instructions")
    user_md = (agents_dir / "global" / "USER.md").read_text()
    for heading in ("Name", "Preferred Name", "Pronouns", "Timezone", "Notes", "Interests"):
        assert f"## {heading}\n" in user_md


async def test_a_removed_agent_keeps_its_history_and_comes_back_when_re_added(
    migrated_engine: AsyncEngine, data_dir: Path
) -> None:
    registry = AgentRegistry(migrated_engine, AgentPaths(data_dir))
    await registry.sync(make_config({"coder": {}, "writer": {}}))
    async with AsyncSession(migrated_engine) as session, session.begin():
        await insert_message(
            session, msg_id=new_id(), agent_id="writer", sender="user", role="user", content="hi"
        )

    removed = await registry.sync(make_config({"coder": {}}))

    assert removed.removed == ("writer",)
    agents = await rows(migrated_engine)
    assert agents["writer"].removed_at is not None
    assert agents["coder"].removed_at is None
    async with AsyncSession(migrated_engine) as session:
        kept = (await session.scalars(select(Message.content))).all()
    assert kept == ["hi"]
    assert (data_dir / "agents" / "writer" / "AGENT.md").exists()

    await registry.sync(make_config({"coder": {}, "writer": {"description": "back"}}))
    back = (await rows(migrated_engine))["writer"]
    assert (back.removed_at, back.description) == (None, "back")


async def test_a_changed_agent_is_updated_and_keeps_its_session_and_files(
    migrated_engine: AsyncEngine, data_dir: Path
) -> None:
    registry = AgentRegistry(migrated_engine, AgentPaths(data_dir))
    await registry.sync(make_config({"coder": {"description": "old"}}))
    async with AsyncSession(migrated_engine) as session, session.begin():
        row = await session.get(Agent, "coder")
        assert row is not None
        row.session_id = "sess-1"
    agent_md = data_dir / "agents" / "coder" / "AGENT.md"
    agent_md.write_text("# Agent Identity\n\nName: Cody\n")

    await registry.sync(make_config({"coder": {"description": "new", "image": "img:2"}}))

    row = (await rows(migrated_engine))["coder"]
    assert (row.description, row.image, row.session_id) == ("new", "img:2", "sess-1")
    assert agent_md.read_text() == "# Agent Identity\n\nName: Cody\n"
