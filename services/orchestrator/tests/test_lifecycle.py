"""Agents start when input waits, are told about, stop when idle — with the real process runtime.

The runner here is :mod:`fake_runner`, a test double of our own agent-runner
that speaks its bus contract (the real one is built in ``agent-runner/``).
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from praktor_common import subjects
from praktor_common.contracts.agent import AgentInput
from praktor_common.contracts.base import Contract
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.orchestrator import (
    AGENT_ABORT,
    AGENT_RESET,
    AGENT_STATUS,
    AGENT_STOP,
    AgentActionReply,
    AgentRequest,
    AgentStatusList,
    AgentStatusRequest,
)
from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.db.models import Agent
from praktor_common.ids import new_id
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.runtime import AgentRuntime, ProcessRuntime, procfs
from services.orchestrator.tests.harness import (
    FAKE_RUNNER,
    ORIGIN,
    Running,
    make_config,
    running_orchestrator,
)

pytestmark = pytest.mark.integration


def fake_runners(**options: Any) -> Callable[[Path, str], AgentRuntime]:
    def make(data_dir: Path, install_id: str) -> AgentRuntime:
        return ProcessRuntime(
            data_dir, AgentPaths(data_dir).state_dir, install_id, args=[str(FAKE_RUNNER)], **options
        )

    return make


def final_of(msg_id: str) -> Callable[[Delivery], bool]:
    return lambda d: d.kind == "final" and d.msg_id == msg_id


def runner_report(data_dir: Path, workspace: str) -> dict[str, Any]:
    path = AgentPaths(data_dir).workspace_dir(workspace) / ".fake-runner.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


async def test_waiting_input_starts_the_agent_and_its_answer_reaches_the_chat(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {"description": "Writes code"}})
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        assert not run.orchestrator.lifecycle.is_running("coder")

        sent = await run.send_input("coder", "hello")

        final = await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
        assert final.content == "echo: hello"
        assert final.origin == ORIGIN
        assert final.agent_id == "coder"
        await run.evented(lambda e: e.type == "agent_started")
        assert run.orchestrator.lifecycle.is_running("coder")


async def ask(server: NatsTestServer, command: Command[Any, Any], request: Contract) -> Any:
    """What the web or the gateway does: a ``svc.orchestrator.*`` request."""
    web = await server.connect("web")
    reply = await web.request(command.subject, request.model_dump_json().encode(), timeout=20)
    return command.parse_reply(reply.data)


async def agent_row(engine: AsyncEngine, agent_id: str) -> Agent:
    async with AsyncSession(engine) as session:
        row = await session.get(Agent, agent_id)
    assert row is not None
    return row


async def test_the_runner_gets_the_env_contract_and_runs_unprivileged(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config(
        {"coder": {"allowed_tools": ["Read", "Bash"], "env": {"GREETING": "hi"}}},
        anthropic_api_key="sk-ant-test-key-123456",
    )
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        sent = await run.send_input("coder", "hello")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)

    report = runner_report(data_dir, "coder")
    env = set(report["env"])
    assert {
        "PRAKTOR_AGENT_ID",
        "PRAKTOR_NATS_URL",
        "PRAKTOR_NATS_CREDS",
        "PRAKTOR_WORKSPACE",
        "PRAKTOR_GLOBAL_DIR",
        "PRAKTOR_MODEL",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
        "PRAKTOR_ALLOWED_TOOLS",
        "PRAKTOR_MAX_TURNS",
        "PRAKTOR_MAX_PARALLEL_TASKS",
        "PRAKTOR_INSTALL_ID",
        "TZ",
        "HOME",
        "GREETING",
    } <= env
    assert not {"PRAKTOR_DATABASE_URL", "PRAKTOR_CONFIG", "PRAKTOR_DATA_DIR"} & env
    assert json.loads(report["allowed_tools"]) == ["Read", "Bash"]
    assert report["tz"] == "UTC"
    assert report["home"] == str(AgentPaths(data_dir).home_dir("coder"))
    if os.geteuid() == 0:
        assert report["uid"] == pwd.getpwnam("praktor-agent").pw_uid
    else:
        assert report["uid"] == os.geteuid()


async def test_the_session_of_an_answer_is_resumed_after_a_restart(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}})
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        first = await run.send_input("coder", "one")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == first.msg_id)
        assert runner_report(data_dir, "coder")["session"] is None
        await wait_until(lambda: _session(migrated_engine, "coder"), 10)

        assert await ask(nats_clients, AGENT_STOP, AgentRequest(agent_id="coder")) == (
            AgentActionReply(agent_id="coder", was_running=True)
        )
        second = await run.send_input("coder", "two")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == second.msg_id)

    assert runner_report(data_dir, "coder")["session"] == "session-of-coder"


async def _session(engine: AsyncEngine, agent_id: str) -> bool:
    return (await agent_row(engine, agent_id)).session_id == f"session-of-{agent_id}"


async def test_when_every_slot_is_taken_the_person_is_told_and_the_input_waits(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}, "writer": {}}, max_running=1)
    other_chat = Origin(channel="web", chat_id="conv-9", user_id="7")
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        first = await run.send_input("coder", "first")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == first.msg_id)

        waiting = await run.send_input("writer", "second", origin=other_chat)
        notice = await run.delivered(lambda d: d.msg_id == waiting.msg_id)
        assert notice.kind == "notice"
        assert notice.notice is not None
        assert notice.notice.code == "waiting_for_capacity"
        assert notice.origin == other_chat
        assert not run.orchestrator.lifecycle.is_running("writer")

        await ask(nats_clients, AGENT_STOP, AgentRequest(agent_id="coder"))
        answer = await run.delivered(lambda d: d.kind == "final" and d.msg_id == waiting.msg_id)
        assert answer.content == "echo: second"
        assert answer.origin == other_chat


async def test_an_agent_that_cannot_start_tells_the_person_why(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}})
    async with running_orchestrator(
        nats_clients,
        migrated_engine,
        data_dir,
        config,
        runtime=fake_runners(python=Path("/nonexistent/python3")),
    ) as run:
        sent = await run.send_input("coder", "hello")

        error = await run.delivered(lambda d: d.msg_id == sent.msg_id)
        assert error.kind == "error"
        assert error.notice is not None
        assert error.notice.code == "agent_unavailable"
        assert "coder could not start" in error.notice.text
        assert "/nonexistent/python3" in error.notice.text
        assert error.origin == ORIGIN
        assert not run.orchestrator.lifecycle.is_running("coder")
        assert not [e for e in run.events if e.type in ("agent_started", "agent_stopped")]


async def test_a_runner_that_exits_before_ready_is_a_start_failure_with_its_exit_code(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {"env": {"FAKE_RUNNER_MODE": "crash"}}})
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        sent = await run.send_input("coder", "hello")

        error = await run.delivered(lambda d: d.msg_id == sent.msg_id)
        assert error.kind == "error"
        assert error.notice is not None
        assert "exit code 3" in error.notice.text
        assert run.orchestrator.issuer_active() == {}


async def test_an_idle_agent_is_stopped_once_and_its_credentials_revoked(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}}, idle_timeout="1s")
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        sent = await run.send_input("coder", "hello")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
        assert "coder" in run.orchestrator.issuer_active()

        await run.evented(lambda e: e.type == "agent_stopped", within=15)
        stops = [e for e in run.events if e.type == "agent_stopped"]
        assert [(e.agent_id, e.reason) for e in stops] == [("coder", "idle_timeout")]
        assert not run.orchestrator.lifecycle.is_running("coder")
        assert run.orchestrator.issuer_active() == {}
        assert "ping" in runner_report(data_dir, "coder")["controls"]


async def test_a_busy_agent_is_not_stopped_when_idle_time_passes(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {"env": {"FAKE_RUNNER_MODE": "busy"}}}, idle_timeout="1s")
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        sent = await run.send_input("coder", "hello")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
        await wait_until(
            lambda: runner_report(data_dir, "coder")["controls"].count("ping") >= 2, within=30
        )

        assert run.orchestrator.lifecycle.is_running("coder")
        assert not [e for e in run.events if e.type == "agent_stopped"]


async def test_stop_abort_and_reset_reach_the_runner_and_the_database(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}})
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        # nothing runs yet: each command says so, and no stop event appears
        assert await ask(nats_clients, AGENT_ABORT, AgentRequest(agent_id="coder")) == (
            AgentActionReply(agent_id="coder", was_running=False)
        )
        assert await ask(nats_clients, AGENT_STOP, AgentRequest(agent_id="coder")) == (
            AgentActionReply(agent_id="coder", was_running=False)
        )
        unknown = await ask(nats_clients, AGENT_RESET, AgentRequest(agent_id="nobody"))
        assert isinstance(unknown, ServiceError)
        assert unknown.code == "not_found"

        sent = await run.send_input("coder", "hello")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
        await wait_until(lambda: _session(migrated_engine, "coder"), 10)

        assert await ask(nats_clients, AGENT_ABORT, AgentRequest(agent_id="coder")) == (
            AgentActionReply(agent_id="coder", was_running=True)
        )
        assert run.orchestrator.lifecycle.is_running("coder")  # /stop keeps it running
        assert await ask(nats_clients, AGENT_RESET, AgentRequest(agent_id="coder")) == (
            AgentActionReply(agent_id="coder", was_running=True)
        )
        assert (await agent_row(migrated_engine, "coder")).session_id is None
        assert runner_report(data_dir, "coder")["controls"][-2:] == ["abort", "clear_session"]

        status = await ask(nats_clients, AGENT_STATUS, AgentStatusRequest())
        assert isinstance(status, AgentStatusList)
        (coder,) = status.agents
        assert (coder.agent_id, coder.state, coder.is_default) == ("coder", "idle", True)
        assert coder.message_count == 2

        assert await ask(nats_clients, AGENT_STOP, AgentRequest(agent_id="coder")) == (
            AgentActionReply(agent_id="coder", was_running=True)
        )
        stops = [e for e in run.events if e.type == "agent_stopped"]
        assert [(e.agent_id, e.reason) for e in stops] == [("coder", "manual")]
        assert run.orchestrator.issuer_active() == {}


async def test_input_sent_while_no_orchestrator_ran_starts_its_agent_when_one_comes(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}})
    async with running_orchestrator(nats_clients, migrated_engine, data_dir, config):
        pass  # the agent's consumer exists from here on
    router = await nats_clients.connect("router")
    sent = AgentInput(
        msg_id=new_id(), agent_id="coder", text="while down", origin=ORIGIN, sender="user:7"
    )
    await router.jetstream().publish(subjects.agent_input("coder"), sent.model_dump_json().encode())

    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        final = await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
        assert final.content == "echo: while down"


async def test_a_config_change_restarts_changed_agents_and_stops_removed_ones(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}, "writer": {}})
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, config, runtime=fake_runners()
    ) as run:
        for agent in ("coder", "writer"):
            sent = await run.send_input(agent, "hi")
            await run.delivered(final_of(sent.msg_id))

        await run.change_config(make_config({"coder": {"description": "changed"}}))

        stops = sorted((e.agent_id, e.reason) for e in run.events if e.type == "agent_stopped")
        assert stops == [("coder", "config_changed"), ("writer", "config_changed")]
        assert run.orchestrator.lifecycle.running_agents() == []
        assert (await agent_row(migrated_engine, "writer")).removed_at is not None
        with pytest.raises(NotFoundError):  # its waiting input went with it
            await run.admin_js.consumer_info("AGENT_INPUT", "agent-writer")

        again = await run.send_input("coder", "after")
        await run.delivered(lambda d: d.kind == "final" and d.msg_id == again.msg_id)


async def test_a_new_orchestrator_adopts_the_agents_its_install_left_running(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> None:
    config = make_config({"coder": {}})
    install = f"pk-adopt-{new_id()[-8:]}"

    async def crash_on_exit(run: Running) -> None:
        # a crashed orchestrator never runs its shutdown: agents keep running
        shutdown = run.ctx.on_stop.pop()
        assert getattr(shutdown, "__name__", "") == "shutdown"

    async with running_orchestrator(
        nats_clients,
        migrated_engine,
        data_dir,
        config,
        runtime=fake_runners(),
        install_id=install,
        on_ready=crash_on_exit,
    ) as first:
        sent = await first.send_input("coder", "one")
        await first.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
    leftover = json.loads((AgentPaths(data_dir).state_dir / "coder.json").read_text())

    stranger = ProcessRuntime(data_dir, AgentPaths(data_dir).state_dir, "pk-another-install")
    assert await stranger.leftovers() == []

    async with running_orchestrator(
        nats_clients,
        migrated_engine,
        data_dir,
        config,
        runtime=fake_runners(),
        install_id=install,
    ) as second:
        assert second.orchestrator.lifecycle.is_running("coder")
        again = await second.send_input("coder", "two")
        await second.delivered(lambda d: d.kind == "final" and d.msg_id == again.msg_id)
        assert not [e for e in second.events if e.type == "agent_started"]
        assert runner_report(data_dir, "coder")["inputs"] == ["one", "two"]
    assert not procfs.is_alive(leftover["pid"], leftover["start_ticks"])
