"""A TEST DOUBLE of our own agent-runner, for the orchestrator's tests only.

It speaks the runner's side of the bus contract and nothing more: it connects
with the minted credentials from ``PRAKTOR_NATS_CREDS``, answers
``agent.<id>.control``, publishes ``agent.<id>.ready``, pulls its input from its
durable consumer and, for each input, publishes one ``text`` snapshot and one
``result`` echoing the input, then acknowledges. It writes what it saw (its
uid, its environment's names, the control commands it got) to
``<workspace>/.fake-runner.json`` so tests can check the env contract.

``FAKE_RUNNER_MODE`` (from the agent's ``env`` in the config) changes it:
``echo`` (default), ``busy`` (ping always says busy), ``silent`` (never says
ready), ``crash`` (exits 3 at once).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import nats
from nats.aio.msg import Msg

from praktor_common import streams, subjects
from praktor_common.contracts.agent import (
    AgentInput,
    AgentReady,
    AgentResult,
    AgentText,
    ControlError,
    ControlOk,
    ControlRequest,
    PingReply,
)
from praktor_common.identities.permissions import agent_identity, inbox_prefix

MODE = os.environ.get("FAKE_RUNNER_MODE", "echo")


class Report:
    def __init__(self, workspace: Path) -> None:
        self.path = workspace / ".fake-runner.json"
        self.data: dict[str, Any] = {
            "uid": os.getuid(),
            "cwd": os.getcwd(),
            "env": sorted(os.environ),
            "session": os.environ.get("PRAKTOR_SESSION_ID"),
            "allowed_tools": os.environ.get("PRAKTOR_ALLOWED_TOOLS"),
            "tz": os.environ.get("TZ"),
            "home": os.environ.get("HOME"),
            "controls": [],
            "inputs": [],
        }
        self.save()

    def add(self, key: str, value: str) -> None:
        self.data[key].append(value)
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)  # readers never see half a file


async def main() -> None:
    if MODE == "crash":
        sys.exit(3)
    agent_id = os.environ["PRAKTOR_AGENT_ID"]
    report = Report(Path(os.environ["PRAKTOR_WORKSPACE"]))
    nc = await nats.connect(
        os.environ["PRAKTOR_NATS_URL"],
        user_credentials=os.environ["PRAKTOR_NATS_CREDS"],
        inbox_prefix=inbox_prefix(agent_identity(agent_id)).encode(),
        max_reconnect_attempts=2,
    )
    js = nc.jetstream()
    done = asyncio.Event()

    async def control(msg: Msg) -> None:
        command = ControlRequest.model_validate_json(msg.data).command
        report.add("controls", command)
        if command == "ping":
            busy = MODE == "busy"
            reply: Any = PingReply(
                processing=busy, pending_messages=0, active_tasks=0, background_tasks=0
            )
        elif command in ("abort", "clear_session"):
            reply = ControlOk()
        elif command == "shutdown":
            done.set()
            return
        else:
            reply = ControlError(error=f"unknown command: {command}")
        await msg.respond(reply.model_dump_json().encode())

    await nc.subscribe(subjects.agent_control(agent_id), cb=control)
    inputs = await js.pull_subscribe_bind(
        durable=streams.agent_consumer_name(agent_id), stream=streams.AGENT_INPUT
    )
    await nc.flush()
    if MODE != "silent":
        await nc.publish(subjects.agent_ready(agent_id), AgentReady().model_dump_json().encode())
    output = subjects.agent_output(agent_id)
    while not done.is_set():
        try:
            messages = await inputs.fetch(1, timeout=0.5)
        except nats.errors.TimeoutError:
            continue
        for msg in messages:
            turn = AgentInput.model_validate_json(msg.data)
            report.add("inputs", turn.text)
            answer = f"echo: {turn.text}"
            text = AgentText(
                **turn.correlation().model_dump(), seq=0, content=answer[:5], origin=turn.origin
            )
            await js.publish(
                output,
                text.model_dump_json().encode(),
                headers={"Nats-Msg-Id": f"{turn.msg_id}:t0"},
            )
            result = AgentResult(
                **turn.correlation().model_dump(),
                content=answer,
                terminal_reason="completed",
                session_id=os.environ.get("PRAKTOR_SESSION_ID") or f"session-of-{agent_id}",
                origin=turn.origin,
            )
            await js.publish(
                output,
                result.model_dump_json().encode(),
                headers={"Nats-Msg-Id": f"{turn.msg_id}:r"},
            )
            await msg.ack()
    await nc.close()


if __name__ == "__main__":
    asyncio.run(main())
