"""Agent benchmark: what the suite adds around a model call, with the real runner and Claude Code.

`praktor up` runs every service; agents run with the process runtime, or with
``--runtime docker`` in containers of the agent image on the engine at
``DOCKER_HOST`` (the real agent-runner and Claude Code CLI either way); the
model is a local fake that answers at
once, so every second measured is Praktor's (and Claude Code's) own. A person's
message is published on ``inbound.cli.<chat>`` and its answer read on
``deliver.cli.>``, as an outside client does. Measured, p50/p95/max in ms:

* cold start: input published → the orchestrator's ``agent_started`` event
  (the runner connected and said it is ready), and → the first model request;
* warm turn: input published → the model request (input overhead), model
  answer → ``final`` delivered (output overhead), and the whole turn.

Writes bench/results/agents-<runtime>.json.

    uv run --no-sync python bench/agents.py [--cold 5] [--warm 20]
    DOCKER_HOST=unix://... uv run --no-sync python bench/agents.py --runtime docker \
        --image praktor-agent:latest
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nats.aio.msg import Msg

from praktor_common import subjects
from praktor_common.contracts.orchestrator import AGENT_STOP, AgentRequest
from praktor_common.supervisor.state import read_state
from praktor_common.testing.fake_anthropic import (
    Answer,
    RecordedRequest,
    ThreadedFakeAnthropic,
    text_reply,
)
from tests.e2e.agent_harness import (
    Chat,
    agents_config,
    eventually,
    start_agent_suite,
    start_docker_agent_suite,
)
from tests.e2e.harness import Suite

RESULTS = Path(__file__).parent / "results"
AGENT = "bench"


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 / p95 / max of seconds, in ms (nearest rank)."""
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": pick(0.5), "p95_ms": pick(0.95), "max_ms": round(ordered[-1] * 1000, 1)}


@dataclass
class Clock:
    """When the fake model got each request and when the agent said it started."""

    model_requests: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)

    def answer(self, _request: RecordedRequest) -> Answer:
        self.model_requests.append(time.perf_counter())
        return text_reply("OK")

    async def on_event(self, msg: Msg) -> None:
        if json.loads(msg.data).get("type") == "agent_started":
            self.started.append(time.perf_counter())


async def stop_agent(chat: Chat) -> None:
    request = AgentRequest(agent_id=AGENT).model_dump_json().encode()
    await chat.client.request(AGENT_STOP.subject, request, timeout=30)
    await asyncio.sleep(1)  # let the stopped runner's process group go


async def one_turn(chat: Chat, clock: Clock, text: str) -> dict[str, float]:
    requests, started = len(clock.model_requests), len(clock.started)
    t0 = time.perf_counter()
    message = await chat.send(text, agent_id=AGENT)
    await chat.final(message.msg_id, within=180)
    t_final = time.perf_counter()
    await eventually(lambda: len(clock.model_requests) > requests, 5, "the model request")
    t_model = clock.model_requests[requests]
    out = {
        "to_model_request": t_model - t0,
        "model_to_final": t_final - clock.model_requests[-1],
        "turn": t_final - t0,
    }
    if len(clock.started) > started:
        out["to_ready"] = clock.started[started] - t0
    return out


@dataclass(frozen=True)
class Runtime:
    name: str
    docker_host: str = ""
    image: str = ""

    def suite(self, config: dict[str, Any]) -> contextlib.AbstractContextManager[Suite]:
        if self.name == "docker":
            return start_docker_agent_suite(config, self.docker_host, self.image)
        return start_agent_suite(config)


async def measure(
    cold_runs: int, warm_runs: int, model: ThreadedFakeAnthropic, runtime: Runtime
) -> dict[str, Any]:
    clock = Clock()
    model.fake.responder = clock.answer
    config = agents_config(model.base_url, {AGENT: {"description": "Benchmark agent"}})
    with runtime.suite(config) as suite:
        state = read_state(suite.data_dir / "run" / "state.json")
        if state is None or state.runtime != runtime.name:
            got = state.runtime if state is not None else "unknown"
            raise SystemExit(f"praktor up chose the {got} runtime, not {runtime.name}")
        chat = await Chat.open(suite, chat_id="bench")
        events = await chat.client.subscribe(subjects.events_agent(AGENT), cb=clock.on_event)
        try:
            cold = []
            for run in range(cold_runs):
                if run:
                    await stop_agent(chat)
                cold.append(await one_turn(chat, clock, f"cold {run}"))
                print(f"cold {run}: {cold[-1]}", file=sys.stderr)
            warm = []
            for run in range(warm_runs):
                warm.append(await one_turn(chat, clock, f"warm {run}"))
            print(f"warm: {percentiles([w['turn'] for w in warm])}", file=sys.stderr)
        finally:
            await events.unsubscribe()
            await chat.close()
    return {
        "benchmark": "agents",
        "runtime": runtime.name,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cold_runs": cold_runs,
        "warm_runs": warm_runs,
        "cold_input_to_runner_ready": percentiles([c["to_ready"] for c in cold if "to_ready" in c]),
        "cold_input_to_first_model_request": percentiles([c["to_model_request"] for c in cold]),
        "cold_turn": percentiles([c["turn"] for c in cold]),
        "warm_input_to_model_request": percentiles([w["to_model_request"] for w in warm]),
        "warm_model_answer_to_final_delivered": percentiles([w["model_to_final"] for w in warm]),
        "warm_turn": percentiles([w["turn"] for w in warm]),
        **({"image": runtime.image} if runtime.image else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=5, help="cold starts (agent stopped first)")
    parser.add_argument("--warm", type=int, default=20, help="turns of a running agent")
    parser.add_argument("--runtime", choices=("process", "docker"), default="process")
    parser.add_argument(
        "--image", default=os.environ.get("PRAKTOR_TEST_AGENT_IMAGE", "praktor-agent:latest")
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    runtime = Runtime(args.runtime)
    if args.runtime == "docker":
        host = os.environ.get("DOCKER_HOST", "")
        if not host.startswith("unix://"):
            parser.error("--runtime docker needs DOCKER_HOST=unix://<engine socket>")
        runtime = Runtime("docker", host, args.image)
    with ThreadedFakeAnthropic() as model:
        result = asyncio.run(measure(args.cold, args.warm, model, runtime))
    print(json.dumps(result, indent=2))
    if not args.no_save:
        out = RESULTS / f"agents-{runtime.name}.json"
        out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
