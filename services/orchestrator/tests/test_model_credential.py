"""The model credential never enters an agent, end to end.

Everything real but the model API: the orchestrator (:mod:`harness`) runs the
real agent-runner with the process runtime (as the unprivileged agent user
when the tests run as root), the runner runs the real Claude Code CLI, and the
CLI's requests go through the real model-proxy service (its own setup, on the
bus with the model-proxy identity) to :class:`FakeAnthropic`. The install's
API key is in the config the orchestrator and proxy read; the test looks for
it everywhere the agent could see it while a turn is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.bus import make_broker
from praktor_common.config import ConfigFollower, PraktorConfig
from praktor_common.runtime.health import HealthState
from praktor_common.runtime.spec import ServiceContext
from praktor_common.testing.fake_anthropic import FakeAnthropic, Reply, Text
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_model_proxy.service import SERVICE as MODEL_PROXY
from praktor_model_proxy.service import ProxySettings
from praktor_model_proxy.service import setup as setup_model_proxy
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.runtime import AgentRuntime, ProcessRuntime, procfs
from services.orchestrator.tests.harness import running_orchestrator

pytestmark = pytest.mark.integration

REAL_KEY = "sk-ant-api03-REAL-install-key-0d9c7b"  # only the fake API ever sees it
MODEL = "claude-sonnet-4-5"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def suite_config(model_api: str, proxy_port: int) -> PraktorConfig:
    return PraktorConfig.model_validate(
        {
            "timezone": "UTC",
            "defaults": {
                "model": MODEL,
                "anthropic_api_key": REAL_KEY,
                "model_api_base_url": model_api,
            },
            "model_proxy": {"port": proxy_port},
            "agents": {"coder": {"description": "Writes code"}},
            "router": {"default_agent": "coder"},
        }
    )


@contextlib.asynccontextmanager
async def running_model_proxy(server: NatsTestServer, engine: AsyncEngine) -> AsyncIterator[None]:
    """The model-proxy service's real setup, on the bus with its own identity."""
    settings = server.settings("model-proxy")
    broker = make_broker(settings, "model-proxy")
    nc = await broker.connect()
    follower = ConfigFollower(nc.jetstream())
    await follower.start()
    ctx = ServiceContext(
        spec=MODEL_PROXY,
        settings=settings,
        broker=broker,
        nats=nc,
        js=nc.jetstream(),
        config=follower,
        health=HealthState("model-proxy"),
        engine=engine,
    )
    # the credential comes from the config here (as with `praktor up`), not the environment
    own = ProxySettings(host="127.0.0.1", ANTHROPIC_API_KEY="", CLAUDE_CODE_OAUTH_TOKEN="")
    await setup_model_proxy(ctx, own)
    await broker.start()
    try:
        yield
    finally:
        for hook in reversed(ctx.on_stop):
            with contextlib.suppress(Exception):
                await hook()
        await follower.stop()
        await broker.stop()


def real_runners(data_dir: Path, install_id: str) -> AgentRuntime:
    """The process runtime running ``python -m praktor_agent_runner``, as in production."""
    return ProcessRuntime(data_dir, AgentPaths(data_dir).state_dir, install_id)


def runner_pid(data_dir: Path, agent_id: str) -> int:
    record = json.loads((AgentPaths(data_dir).state_dir / f"{agent_id}.json").read_text())
    return int(record["pid"])


def session_members(leader: int) -> set[int]:
    """The processes of the runner's session (it is started as a session leader)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == leader:
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[3]) == leader:
                found.add(int(entry.name))
    return found


def is_claude_code(pid: int) -> bool:
    with contextlib.suppress(OSError):
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        return any(b"claude" in Path(arg.decode(errors="replace")).name.encode() for arg in argv)
    return False


def process_text(pid: int) -> str:
    """What a process was started with: its environment and command line."""
    environ = procfs.proc_environ(pid)
    assert environ is not None, f"cannot read the environment of {pid}"
    cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace")
    return "\n".join(f"{k}={v}" for k, v in environ.items()) + "\n" + cmdline


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def files_holding(needle: bytes, *roots: Path) -> list[Path]:
    return [p for p in files_under(*roots) if needle in p.read_bytes()]


async def ask_proxy(port: int, token: str) -> int:
    """One model request as an agent would make it, with ``token``; the HTTP status."""
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "still there?"}],
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/v1/messages",
            json=body,
            headers={"x-api-key": token, "anthropic-version": "2023-06-01"},
        ) as response,
    ):
        return response.status


async def test_the_model_credential_never_enters_an_agent_and_its_token_dies_with_it(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    fake_anthropic: FakeAnthropic,
    data_dir: Path,
) -> None:
    proxy_port = free_port()
    config = suite_config(fake_anthropic.base_url, proxy_port)
    turn_open = asyncio.Event()
    fake_anthropic.queue(Reply(blocks=(Text("Hello from the model"),), hold=turn_open))
    paths = AgentPaths(data_dir)

    async with (
        running_orchestrator(
            nats_clients, migrated_engine, data_dir, config, runtime=real_runners
        ) as run,
        running_model_proxy(nats_clients, migrated_engine),
    ):
        sent = await run.send_input("coder", "say hello")

        # The turn is open: the CLI waits for the rest of the model's answer.
        [request] = await fake_anthropic.wait_for_requests(1, timeout=90)
        assert request.api_key == REAL_KEY  # the proxy put the real key on it ...
        runner = runner_pid(data_dir, "coder")
        runner_env = procfs.proc_environ(runner)
        assert runner_env is not None
        token = runner_env["ANTHROPIC_API_KEY"]
        assert token != REAL_KEY  # ... the agent holds only its own token
        assert runner_env["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{proxy_port}"
        await wait_until(lambda: any(map(is_claude_code, session_members(runner))), 30)
        agent_processes = {runner, *session_members(runner)}
        assert any(map(is_claude_code, agent_processes))
        for pid in agent_processes:
            assert REAL_KEY not in process_text(pid), f"the key is in process {pid}"
        agent_dirs = (
            paths.workspace_dir("coder"),
            paths.home_dir("coder"),  # $HOME, and Claude Code's credentials dir $HOME/.claude
            paths.runtime_dir("coder"),  # its bus credentials
            paths.global_dir,
        )
        assert files_holding(REAL_KEY.encode(), *agent_dirs) == []
        assert (paths.home_dir("coder") / ".claude").is_dir()

        turn_open.set()
        final = await run.delivered(lambda d: d.kind == "final" and d.msg_id == sent.msg_id)
        assert final.content == "Hello from the model"
        assert files_holding(REAL_KEY.encode(), *agent_dirs) == []

        assert await run.orchestrator.lifecycle.stop("coder")
        await run.evented(lambda e: e.type == "agent_stopped")

        async def refused() -> bool:
            return await ask_proxy(proxy_port, token) == 401

        await wait_until(refused, 5)
        answered = len(fake_anthropic.requests)
        assert await ask_proxy(proxy_port, token) == 401
        assert len(fake_anthropic.requests) == answered  # a refused token never reaches the API
