"""Agents through the whole suite: the real agent-runner and Claude Code, a fake model API.

``praktor up`` runs every service; the orchestrator runs agents with the
``process`` runtime (as the unprivileged ``praktor-agent`` user when the tests
run as root). The only stand-in is the model: a :class:`ThreadedFakeAnthropic`
named as the upstream in the config (``defaults.model_api_base_url``), so the
tests hold whether agents reach it directly or through the model proxy.

The test plays a person on the ``cli`` channel with the admin identity, as an
outside client: it publishes :class:`InboundMessage` s on ``inbound.cli.<chat>``
and reads ``deliver.cli.>`` through a JetStream consumer of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiodocker
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from praktor_common import subjects
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id
from praktor_common.supervisor.state import read_state
from praktor_common.testing.fake_anthropic import (
    RecordedRequest,
    ThreadedFakeAnthropic,
    text_reply,
)
from tests.e2e.harness import Suite, base_config

MODEL: Final = "claude-sonnet-4-5"
API_KEY: Final = "sk-e2e-model-key-0001"
CHAT: Final = "e2e-chat"
MEMORY_STORE: Final = "mcp__praktor-memory__memory_store"
MEMORY_RECALL: Final = "mcp__praktor-memory__memory_recall"
BROWSER_TOOL: Final = "mcp__browser__browser_navigate"
WORKSPACE_MARKER: Final = "E2E-WORKSPACE-CLAUDE-MD-4b1d"
GLOBAL_MARKER: Final = "E2E-GLOBAL-CLAUDE-MD-93ae"


def agents_config(model_base_url: str, agents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A suite config whose model upstream is ``model_base_url`` (the first agent is default)."""
    config = base_config()
    config["defaults"] = {
        "model": MODEL,
        "model_api_base_url": model_base_url,
        "anthropic_api_key": API_KEY,
        "idle_timeout": "0s",
    }
    config["agents"] = agents
    config["router"] = {"default_agent": next(iter(agents))}
    return config


@contextlib.contextmanager
def agent_root() -> Iterator[Path]:
    """A suite root the agent user can pass through (pytest's own tmp tree is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="praktor-e2e-agents-"))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def start_agent_suite(config: dict[str, Any]) -> Iterator[Suite]:
    """A running suite whose agents run as processes (not in containers), stopped after."""
    with agent_root() as root:
        suite = Suite.create(root, config)
        for name in ("DOCKER_HOST", "XDG_RUNTIME_DIR"):
            suite.env.pop(name, None)  # these scenarios are the process runtime's
        suite.start()
        try:
            state = read_state(suite.data_dir / "run" / "state.json")
            if state is None or state.runtime != "process":
                pytest.skip(
                    "a container engine answers on this machine, so `praktor up` runs agents "
                    "in containers; these scenarios need the process runtime"
                )
            yield suite
        finally:
            suite.stop()


@contextlib.contextmanager
def start_docker_agent_suite(
    config: dict[str, Any], docker_host: str, image: str
) -> Iterator[Suite]:
    """A running suite whose agents run in containers of ``image`` on the engine at
    ``docker_host``, on a network of its own; its containers, volumes and network are
    removed after (the product never deletes volumes, a test cleans its own)."""
    config["defaults"]["image"] = image
    network = f"praktor-e2e-{uuid.uuid4().hex[:10]}"
    with agent_root() as root:
        running = Suite.create(root, config)
        # PRAKTOR_AGENT_RUNTIME is left unset: `auto` must pick docker by itself
        running.env.update({"DOCKER_HOST": docker_host, "PRAKTOR_AGENT_NETWORK": network})
        try:
            running.start(timeout=240)
            yield running
        finally:
            state = read_state(running.data_dir / "run" / "state.json")
            running.stop()
            if state is not None:
                cleanup = remove_engine_objects(docker_host, state.install_id, network)
                # a thread of its own: the caller may be inside a running event loop
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(asyncio.run, cleanup).result()


async def remove_engine_objects(docker_host: str, install_id: str, network: str) -> None:
    """Containers and volumes of this install, and the test's network (the suite keeps them)."""
    async with aiodocker.Docker(url=docker_host) as docker:
        label = {"label": [f"praktor.install={install_id}"]}
        for container in await docker.containers.list(all=True, filters=label):
            with contextlib.suppress(aiodocker.DockerError):
                await container.delete(force=True)
        volumes = await docker.volumes.list(filters=label)  # type: ignore[no-untyped-call]
        for volume in volumes.get("Volumes") or []:
            with contextlib.suppress(aiodocker.DockerError):
                found = await docker.volumes.get(volume["Name"])  # type: ignore[no-untyped-call]
                await found.delete()
        with contextlib.suppress(aiodocker.DockerError):
            await (await docker.networks.get(network)).delete()


def pid_file(suite: Suite, agent_id: str) -> Path:
    return suite.data_dir / "run" / "agents" / f"{agent_id}.json"


def runner_pid(suite: Suite, agent_id: str) -> int | None:
    """The pid of the agent's runner (the process runtime's record), if one runs."""
    try:
        pid = int(json.loads(pid_file(suite, agent_id).read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def runner_log(suite: Suite, agent_id: str) -> str:
    path = suite.data_dir / "run" / "agents" / f"{agent_id}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def kill_runner(pid: int) -> None:
    """SIGKILL the runner and Claude Code under it (its own process group)."""
    os.killpg(pid, signal.SIGKILL)


def workspace(suite: Suite, name: str) -> Path:
    return suite.data_dir / "agents" / name


async def query(suite: Suite, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of one SQL query on the suite's own database."""
    engine = create_async_engine(suite.database_url())
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql), params)
            return [dict(row._mapping) for row in result]
    finally:
        await engine.dispose()


async def eventually(
    condition: Callable[[], bool], within: float, what: str, suite: Suite | None = None
) -> None:
    """Wait (without blocking the loop) until ``condition()`` holds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.2)
    tail = ""
    if suite is not None:
        runners = sorted((suite.data_dir / "run" / "agents").glob("*.log"))
        logs = "".join(
            f"\n--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in runners
        )
        tail = f"{suite.output()[-6000:]}{logs}"
    raise AssertionError(f"timed out after {within}s waiting for {what}\n{tail}")


@dataclass
class Chat:
    """A person on the ``cli`` channel: messages in, deliveries out."""

    suite: Suite
    client: Client
    js: JetStreamContext
    chat_id: str = CHAT
    deliveries: list[Delivery] = field(default_factory=list)
    _sub: Any = None

    @classmethod
    async def open(cls, suite: Suite, chat_id: str = CHAT) -> Chat:
        client = await suite.connect_admin()
        chat = cls(suite, client, client.jetstream(), chat_id)
        # the stream stores deliveries under a partition token: deliver.cli.<chat>.<n>
        chat._sub = await chat.js.subscribe(
            subjects.deliver_channel("cli"), cb=chat._delivered, ordered_consumer=True
        )
        return chat

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        await self.client.close()

    async def _delivered(self, msg: Msg) -> None:
        delivery = Delivery.model_validate_json(msg.data)
        if delivery.origin.chat_id == self.chat_id:
            self.deliveries.append(delivery)

    def origin(self) -> Origin:
        return Origin(channel="cli", chat_id=self.chat_id, user_id="1", message_id=new_id())

    async def send(self, text_: str, agent_id: str | None = None) -> InboundMessage:
        """Publish one message as the CLI channel would (``agent_id`` skips routing)."""
        message = InboundMessage(
            dedupe_id=f"cli:{new_id()}", origin=self.origin(), text=text_, agent_id=agent_id
        )
        await self.js.publish(
            subjects.inbound("cli", self.chat_id),
            message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": message.dedupe_id},
        )
        return message

    @staticmethod
    def shown(delivery: Delivery) -> str:
        """What the person sees of a delivery (a notice's text, else the content)."""
        return delivery.notice.text if delivery.notice is not None else delivery.content

    def of(self, msg_id: str, *kinds: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.msg_id == msg_id and (not kinds or d.kind in kinds)]

    async def final(self, msg_id: str, within: float = 120) -> Delivery:
        """The answer to one message (waits for its ``final`` delivery)."""
        await eventually(
            lambda: bool(self.of(msg_id, "final")), within, f"the answer to {msg_id}", self.suite
        )
        return self.of(msg_id, "final")[0]

    async def error(self, msg_id: str, within: float = 120) -> Delivery:
        await eventually(
            lambda: bool(self.of(msg_id, "error")), within, f"an error for {msg_id}", self.suite
        )
        return self.of(msg_id, "error")[0]


def new_fake() -> ThreadedFakeAnthropic:
    """A started fake model API in its own thread."""
    served = ThreadedFakeAnthropic()
    served.start()
    return served


# Scenarios both runtimes go through: the same steps and assertions on any suite.


def write_claude_md(suite: Suite, agent_id: str) -> None:
    """The agent's workspace CLAUDE.md and the global one, each with its own marker."""
    for directory, marker in ((agent_id, WORKSPACE_MARKER), ("global", GLOBAL_MARKER)):
        workspace(suite, directory).mkdir(parents=True, exist_ok=True)
        (workspace(suite, directory) / "CLAUDE.md").write_text(f"# Memory\n{marker}\n")


def assert_claude_md_and_web_tools_reached(request: RecordedRequest) -> None:
    """The request holds both CLAUDE.md files (:func:`write_claude_md`) and offers the web."""
    everything = request.all_text()
    assert WORKSPACE_MARKER in everything, "the agent's workspace CLAUDE.md"
    assert GLOBAL_MARKER in everything, "the global CLAUDE.md"
    assert {"WebSearch", "WebFetch"} <= request.offered_tools()


def assert_browser_offered(request: RecordedRequest) -> None:
    assert BROWSER_TOOL in request.offered_tools()
    assert BROWSER_TOOL in request.system_text, "the prompt says how"


async def store_then_recall_a_memory(
    chat: Chat, model: ThreadedFakeAnthropic, agent_id: str
) -> None:
    """One turn stores a memory (a row in ``memories``), a later turn recalls it."""
    store = model.fake.reply_tool_use(
        MEMORY_STORE,
        {"key": "favourite-colour", "content": "The user's favourite colour is teal."},
    )
    model.fake.reply_text("I will remember that.")
    first = await chat.send("My favourite colour is teal, remember it.", agent_id=agent_id)
    assert (await chat.final(first.msg_id)).content == "I will remember that."
    rows = await query(
        chat.suite, "select key, content from memories where agent_id = :agent", agent=agent_id
    )
    assert rows == [{"key": "favourite-colour", "content": "The user's favourite colour is teal."}]
    [stored] = model.fake.conversation[-1].tool_results()
    assert stored["tool_use_id"] == store.id

    recall = model.fake.reply_tool_use(MEMORY_RECALL, {"query": "colour"})
    model.fake.reply_text("Your favourite colour is teal.")
    second = await chat.send("What is my favourite colour?", agent_id=agent_id)

    assert (await chat.final(second.msg_id)).content == "Your favourite colour is teal."
    [recalled] = model.fake.conversation[-1].tool_results()
    assert recalled["tool_use_id"] == recall.id
    assert "favourite-colour" in recalled["content"]
    assert "teal" in recalled["content"]


async def stop_mid_turn_then_talk_on(
    chat: Chat, model: ThreadedFakeAnthropic, agent_id: str
) -> None:
    """``/stop <agent>`` while the model writes: no answer to it, the next message is answered."""
    gate = model.hold()
    model.fake.queue(text_reply("This answer never finish", hold=gate))
    before = len(model.fake.conversation)
    slow = await chat.send("Tell me a very long story.", agent_id=agent_id)
    await model.wait_for_requests_async(before + 1, timeout=90)
    await eventually(lambda: bool(chat.of(slow.msg_id, "text")), 30, "the turn to stream")

    stop = await chat.send(f"/stop {agent_id}")
    await eventually(lambda: bool(chat.of(stop.msg_id)), 30, "the /stop reply", chat.suite)
    assert f"Stopped *{agent_id}*" in chat.shown(chat.of(stop.msg_id)[0])
    model.release(gate)

    model.fake.reply_text("Still here.")
    after = await chat.send("Are you there?", agent_id=agent_id)
    assert (await chat.final(after.msg_id)).content == "Still here."
    assert not chat.of(slow.msg_id, "final"), "an aborted turn gets no answer"
