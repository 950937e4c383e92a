"""Harness: a real runner process, a real authenticated nats-server, the real Claude Code CLI.

Only the Anthropic API is a stand-in (:class:`FakeAnthropic`). The test plays
the host: it creates the agent's consumer with the admin identity (as the
orchestrator would), mints the agent's credentials, publishes input as the
orchestrator, answers ``host.ipc.<id>`` and reads raw output.

The runner runs as root here, so it gets ``IS_SANDBOX=1`` (test only: Claude
Code refuses ``bypassPermissions`` as root otherwise).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from praktor_common import streams, subjects
from praktor_common.contracts.agent import (
    AGENT_OUTPUT,
    CONTROL_REPLY,
    AgentInput,
    AgentResult,
    AgentText,
    ControlReply,
    RouteReply,
)
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id
from praktor_common.testing.fake_anthropic import FakeAnthropic, fake_anthropic
from praktor_common.testing.nats import NatsTestServer, wait_until

__all__ = ["fake_anthropic"]

MODEL = "claude-sonnet-4-5"
API_KEY = "sk-test-agent-key-0001"
ORIGIN = Origin(channel="telegram", chat_id="4242", user_id="7", message_id="99")

WORKSPACE_MARKER = "WORKSPACE-CLAUDE-MD-7f3a"
IDENTITY_MARKER = "AGENT-IDENTITY-MD-91c2"
GLOBAL_MARKER = "GLOBAL-CLAUDE-MD-5be0"
USER_MARKER = "USER-PROFILE-MD-c44d"


@dataclass
class AgentFiles:
    agent_id: str
    workspace: Path
    global_dir: Path
    home: Path
    creds: Path


@pytest.fixture
def agent_id() -> str:
    return f"tester-{secrets.token_hex(3)}"


@pytest.fixture
def agent_files(tmp_path: Path, nats_server: NatsTestServer, agent_id: str) -> AgentFiles:
    workspace, global_dir, home = tmp_path / "workspace", tmp_path / "global", tmp_path / "home"
    for directory in (workspace, global_dir, home):
        directory.mkdir()
    (workspace / "CLAUDE.md").write_text(f"# Agent Memory\n{WORKSPACE_MARKER}\n")
    (workspace / "AGENT.md").write_text(f"# Agent Identity\n## Name\n{IDENTITY_MARKER}\n")
    (global_dir / "CLAUDE.md").write_text(f"# Global Instructions\n{GLOBAL_MARKER}\n")
    (global_dir / "USER.md").write_text(f"# User Profile\n{USER_MARKER}\n")
    creds = nats_server.authority.mint_agent_credentials(agent_id, timedelta(hours=1))
    return AgentFiles(agent_id, workspace, global_dir, home, creds.write(tmp_path / "agent.creds"))


@dataclass
class Output:
    nats_msg_id: str | None
    payload: AgentText | AgentResult


IpcAnswer = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Host:
    """The host side of the bus, played by the test."""

    agent_id: str
    orchestrator: Client
    router: Client
    admin: JetStreamContext
    outputs: list[Output] = field(default_factory=list)
    ipc_requests: list[dict[str, Any]] = field(default_factory=list)
    ipc_answers: dict[str, IpcAnswer] = field(default_factory=dict)
    ready: list[float] = field(default_factory=list)

    def turn(self, text: str, **overrides: Any) -> AgentInput:
        values: dict[str, Any] = {
            "msg_id": new_id(),
            "agent_id": self.agent_id,
            "text": text,
            "origin": ORIGIN,
            "sender": "user:7",
        }
        values.update(overrides)
        return AgentInput(**values)

    async def send(self, turn: AgentInput) -> float:
        """Publish ``turn`` as the orchestrator does; the time it was sent."""
        js = self.orchestrator.jetstream()
        await js.publish(
            subjects.agent_input(self.agent_id),
            turn.model_dump_json().encode(),
            headers={"Nats-Msg-Id": turn.msg_id},
        )
        return time.monotonic()

    async def send_raw(self, body: bytes) -> None:
        await self.orchestrator.jetstream().publish(subjects.agent_input(self.agent_id), body)

    def results(self, msg_id: str) -> list[AgentResult]:
        return [
            o.payload
            for o in self.outputs
            if isinstance(o.payload, AgentResult) and o.payload.msg_id == msg_id
        ]

    def texts(self, msg_id: str) -> list[Output]:
        return [
            o
            for o in self.outputs
            if isinstance(o.payload, AgentText) and o.payload.msg_id == msg_id
        ]

    async def result(self, msg_id: str, within: float = 60.0) -> AgentResult:
        await wait_until(lambda: bool(self.results(msg_id)), within=within)
        return self.results(msg_id)[0]

    async def control(self, command: str, timeout: float = 5.0) -> ControlReply:
        reply = await self.orchestrator.request(
            subjects.agent_control(self.agent_id),
            json.dumps({"command": command}).encode(),
            timeout=timeout,
        )
        return CONTROL_REPLY.validate_json(reply.data)

    async def route(self, text: str, timeout: float = 30.0) -> RouteReply:
        reply = await self.router.request(
            subjects.agent_route(self.agent_id),
            json.dumps({"text": text}).encode(),
            timeout=timeout,
        )
        return RouteReply.model_validate_json(reply.data)

    async def consumer(self) -> ConsumerInfo:
        info: ConsumerInfo = await self.admin.consumer_info(
            streams.AGENT_INPUT, streams.agent_consumer_name(self.agent_id)
        )
        return info

    async def all_settled(self) -> bool:
        info = await self.consumer()
        return info.num_pending == 0 and info.num_ack_pending == 0

    def ipc_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.ipc_requests if r.get("type") == kind]

    async def answer_ipc(self, msg: Msg) -> None:
        request = json.loads(msg.data)
        self.ipc_requests.append(request)
        kind = str(request.get("type"))
        answer = self.ipc_answers.get(kind) or _default_ipc_answer(kind)
        await msg.respond(json.dumps(answer(request.get("payload") or {})).encode())


def _default_ipc_answer(kind: str) -> IpcAnswer:
    if kind in ("memory_list", "memory_recall"):
        return lambda _payload: {"ok": True, "memories": []}
    if kind in ("memory_store", "update_user_md", "update_agent_md"):
        return lambda _payload: {"ok": True}
    return lambda _payload: {"error": f"{kind} is not handled in this test"}


async def _collect(sub: JetStreamContext.PullSubscription, host: Host) -> None:
    while True:
        try:
            messages = await sub.fetch(20, timeout=0.3)
        except TimeoutError:
            continue
        for msg in messages:
            nats_msg_id = (msg.headers or {}).get("Nats-Msg-Id")
            host.outputs.append(Output(nats_msg_id, AGENT_OUTPUT.validate_json(msg.data)))
            await msg.ack()


@pytest_asyncio.fixture
async def host(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer, agent_id: str
) -> AsyncIterator[Host]:
    """The agent's consumer created as the orchestrator would; the host's clients."""
    await streams.ensure_agent_consumer(fresh_streams, agent_id)
    async with host_for(fresh_streams, nats_clients, agent_id) as h:
        yield h


class host_for:
    """The host's clients and listeners for ``agent_id`` (async context manager)."""

    def __init__(self, js: JetStreamContext, server: NatsTestServer, agent_id: str) -> None:
        self.js, self.server, self.agent_id = js, server, agent_id
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Host:
        orchestrator = await self.server.connect("orchestrator")
        router = await self.server.connect("router")
        host = Host(self.agent_id, orchestrator, router, self.js)
        await orchestrator.subscribe(subjects.host_ipc(self.agent_id), cb=host.answer_ipc)

        async def ready(_msg: Msg) -> None:
            host.ready.append(time.monotonic())

        await orchestrator.subscribe(subjects.agent_ready(self.agent_id), cb=ready)
        await orchestrator.flush()
        sub = await self.js.pull_subscribe(
            f"{subjects.agent_output(self.agent_id)}.*", stream=streams.AGENT_OUTPUT
        )
        self.tasks.append(asyncio.create_task(_collect(sub, host)))
        return host

    async def __aexit__(self, *_exc: object) -> None:
        for task in self.tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


@dataclass
class Runner:
    """One ``python -m praktor_agent_runner`` process."""

    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self, host: Host, within: float = 30.0) -> float:
        """Start and wait for its ready message; how long that took."""
        seen = len(host.ready)
        started = time.monotonic()
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "praktor_agent_runner",
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        try:
            await wait_until(lambda: len(host.ready) > seen or self.exited, within=within)
        except TimeoutError:
            raise AssertionError(f"runner not ready:\n{self.log_tail()}") from None
        assert not self.exited, f"runner exited ({self.returncode}):\n{self.log_tail()}"
        return host.ready[-1] - started

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.returncode is not None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def claude_pids(self) -> set[int]:
        """Claude Code processes the runner started (same session id as the runner)."""
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.pid:
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            session = int(stat.rsplit(")", 1)[1].split()[3])
            if session == self.pid and b"claude" in cmdline.split(b"\0")[0]:
                found.add(int(entry.name))
        return found

    @staticmethod
    def environ_of(pid: int) -> dict[str, str]:
        """The environment a process was started with."""
        raw = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
        return dict(item.decode().split("=", 1) for item in raw if b"=" in item)

    def kill(self) -> None:
        """SIGKILL the runner and everything it started."""
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, within: float = 20.0) -> int:
        assert self.process is not None
        async with asyncio.timeout(within):
            return await self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


RunnerFactory = Callable[..., Runner]


@pytest_asyncio.fixture
async def runners(
    agent_files: AgentFiles,
    fake_anthropic: FakeAnthropic,
    nats_server: NatsTestServer,
    tmp_path: Path,
) -> AsyncIterator[RunnerFactory]:
    """Makes runner processes for the test's agent; kills what is left at the end."""
    made: list[Runner] = []

    def make(**env_overrides: str) -> Runner:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PRAKTOR_AGENT_ID": agent_files.agent_id,
            "PRAKTOR_NATS_URL": nats_server.url,
            "PRAKTOR_NATS_CREDS": str(agent_files.creds),
            "PRAKTOR_WORKSPACE": str(agent_files.workspace),
            "PRAKTOR_GLOBAL_DIR": str(agent_files.global_dir),
            "HOME": str(agent_files.home),
            "PRAKTOR_MODEL": MODEL,
            "ANTHROPIC_BASE_URL": fake_anthropic.base_url,
            "ANTHROPIC_API_KEY": API_KEY,
            "PRAKTOR_INSTALL_ID": "test-install",
            "PRAKTOR_LOG_FORMAT": "console",
            "TZ": "UTC",
            "IS_SANDBOX": "1",
        }
        env.update(env_overrides)
        runner = Runner(env=env, log_path=tmp_path / f"runner-{len(made)}.log")
        made.append(runner)
        return runner

    try:
        yield make
    finally:
        for runner in made:
            if runner.process is not None and not runner.exited:
                runner.kill()
                with suppress(Exception):
                    await runner.wait(5)
        for runner in made:
            print(f"--- {runner.log_path.name} ---\n{runner.log_tail(200)}")
