"""Agent benchmark: what the suite adds around a model call, with the real runner and Claude Code.

`praktor up` runs every service; agents run with the process runtime (the real
agent-runner and Claude Code CLI); the model is a local fake that answers at
once, so every second measured is Praktor's (and Claude Code's) own. A person's
message is published on ``inbound.cli.<chat>`` and its answer read on
``deliver.cli.>``, as an outside client does. Measured, p50/p95/max in ms:

* cold start: input published → the orchestrator's ``agent_started`` event
  (the runner connected and said it is ready), and → the first model request;
* warm turn: input published → the model request (input overhead), model
  answer → ``final`` delivered (output overhead), and the whole turn.

Only the process runtime is measured; a container runtime needs an engine and
an agent image (see the report's ``runtimes``). Writes bench/results/agents-process.json.

    uv run --no-sync python bench/agents.py [--cold 5] [--warm 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from praktor_common.testing.fake_anthropic import (
    Answer,
    RecordedRequest,
    ThreadedFakeAnthropic,
    text_reply,
)
from tests.e2e.agent_harness import Chat, agents_config, eventually, start_agent_suite

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


async def measure(cold_runs: int, warm_runs: int, model: ThreadedFakeAnthropic) -> dict[str, Any]:
    clock = Clock()
    model.fake.responder = clock.answer
    config = agents_config(model.base_url, {AGENT: {"description": "Benchmark agent"}})
    with start_agent_suite(config) as suite:
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
        "runtime": "process",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cold_runs": cold_runs,
        "warm_runs": warm_runs,
        "cold_input_to_runner_ready": percentiles([c["to_ready"] for c in cold if "to_ready" in c]),
        "cold_input_to_first_model_request": percentiles([c["to_model_request"] for c in cold]),
        "cold_turn": percentiles([c["turn"] for c in cold]),
        "warm_input_to_model_request": percentiles([w["to_model_request"] for w in warm]),
        "warm_model_answer_to_final_delivered": percentiles([w["model_to_final"] for w in warm]),
        "warm_turn": percentiles([w["turn"] for w in warm]),
        "runtimes": {
            "process": "measured",
            "docker": "not measured: needs a container engine and the agent image",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=5, help="cold starts (agent stopped first)")
    parser.add_argument("--warm", type=int, default=20, help="turns of a running agent")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    with ThreadedFakeAnthropic() as model:
        result = asyncio.run(measure(args.cold, args.warm, model))
    print(json.dumps(result, indent=2))
    if not args.no_save:
        (RESULTS / "agents-process.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
