"""Pacing: sends wait for their turn within Telegram's limits (pure, a fake clock)."""

from __future__ import annotations

import asyncio

import pytest

from praktor_common.contracts.deliver import Delivery
from praktor_common.ids import new_id
from praktor_gateway_telegram.delivery.compose import reply_markdown, warning_line
from praktor_gateway_telegram.delivery.pacing import Limits, Pacing, Rate
from praktor_gateway_telegram.delivery.stream import draft_id
from praktor_gateway_telegram.delivery.testing import GROUP, PRIVATE, Harness


class Clock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        clock.now += seconds
        await real_sleep(0)

    monkeypatch.setattr("praktor_gateway_telegram.delivery.pacing.asyncio.sleep", sleep)
    return clock


async def test_a_chat_gets_its_burst_then_one_send_a_second(clock: Clock) -> None:
    pacing = Pacing(Limits(per_chat=Rate(1, 1.0, 2), per_group=None, per_bot=None), clock)
    times = []
    for _ in range(5):
        await pacing.acquire(PRIVATE)
        times.append(round(clock.now, 3))

    assert times == [0.0, 0.0, 1.0, 2.0, 3.0]


async def test_a_group_also_keeps_to_twenty_a_minute(clock: Clock) -> None:
    pacing = Pacing(Limits(per_chat=None, per_group=Rate(20, 60.0, 2), per_bot=None), clock)
    for _ in range(3):
        await pacing.acquire(GROUP)
    await pacing.acquire(PRIVATE)

    assert round(clock.now, 3) == 3.0, "the third group send waited 3 s; private chats did not"


async def test_a_429_holds_the_chat_for_retry_after(clock: Clock) -> None:
    pacing = Pacing(Limits.off(), clock)
    pacing.hold(PRIVATE, 7)

    await pacing.acquire(GROUP)
    assert clock.now == 0.0
    await pacing.acquire(PRIVATE)
    assert clock.now >= 7.0


def test_the_warning_line_names_the_reason_in_words() -> None:
    assert warning_line("blocking_limit") == "⚠️ _Agent stopped: blocking limit_"


def test_an_empty_answer_that_ended_early_still_says_why() -> None:
    delivery = Delivery(
        msg_id=new_id(),
        origin=Harness.origin(PRIVATE),
        kind="final",
        agent_id="coder",
        terminal_reason="aborted_tools",
    )

    assert reply_markdown(delivery, "main") == "_coder:_ ⚠️ _Agent stopped: aborted tools_"


def test_draft_ids_are_stable_and_never_zero() -> None:
    assert draft_id("a") == draft_id("a")
    assert all(draft_id(str(n)) > 0 for n in range(1000))
