"""Warm turns back to back: each one finishes, whatever the process housekeeping does."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from runner_harness import Host, RunnerFactory

from praktor_common.testing.fake_anthropic import FakeAnthropic
from praktor_common.testing.nats import wait_until

pytestmark = pytest.mark.integration

TURNS = 20


def memory(key: str) -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00Z"
    return {"key": key, "content": "x", "access_count": 0, "created_at": stamp, "updated_at": stamp}


@pytest.mark.parametrize("prompt_changes", [False, True], ids=["same-prompt", "new-prompt"])
async def test_twenty_warm_turns_back_to_back_all_finish_promptly(
    host: Host, runners: RunnerFactory, fake_anthropic: FakeAnthropic, prompt_changes: bool
) -> None:
    """With a new prompt each turn (a new memory), a replacement process is started in the
    background after every turn and the previous launch is dropped while it starts."""
    counter = itertools.count()
    host.ipc_answers["memory_list"] = lambda _payload: {
        "ok": True,
        "memories": [memory(f"fact-{next(counter) if prompt_changes else 0}")],
    }
    await runners().start(host)
    slowest = 0.0
    for n in range(TURNS):
        fake_anthropic.reply_text(f"Answer {n}.")
        turn = host.turn(f"question {n}")
        sent = await host.send(turn)
        result = await host.result(turn.msg_id, within=30)
        slowest = max(slowest, time.monotonic() - sent)
        assert result.content == f"Answer {n}."
        await wait_until(host.all_settled, within=10)
    print(f"\n{TURNS} warm turns, slowest {slowest:.2f}s")
    assert slowest < 15
