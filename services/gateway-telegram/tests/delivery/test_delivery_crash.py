"""A crash at any point never shows a reply's text twice (issue 5, "never doubled").

The gateway process is killed after each step of a delivery in turn (its
database write committed or its Bot API call answered, and nothing after
it), then the bus redelivers the message to a new process. Whatever the
step, the chat ends up showing each chunk of the answer exactly once; the
only trace a crash may leave is one unfilled placeholder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from praktor_common.ids import new_id
from praktor_common.testing.nats import wait_until
from praktor_gateway_telegram.delivery import TelegramDelivery
from praktor_gateway_telegram.delivery.sender import PLACEHOLDER
from praktor_gateway_telegram.delivery.testing import Harness

pytestmark = pytest.mark.integration

STEPS = {
    "records": ("intend", "placed", "sent", "forget"),
    "sender": ("placeholder", "fill", "delete"),
}
LONG_ANSWER = "\n\n".join(f"Paragraph {n}: " + "words and more words. " * 40 for n in range(12))


class Killed(BaseException):
    """The process died here (not an error anything in the gateway handles)."""


def kill_after(delivery: TelegramDelivery, step: int) -> list[str]:
    """Make ``delivery`` die right after its ``step``-th step (0: never); returns the steps."""
    done: list[str] = []
    for owner_name, methods in STEPS.items():
        owner = getattr(delivery, owner_name)
        for name in methods:
            original: Callable[..., Awaitable[Any]] = getattr(owner, name)

            async def counted(
                *args: Any, _original: Callable[..., Awaitable[Any]] = original, _name: str = name
            ) -> Any:
                result = await _original(*args)
                done.append(_name)
                if len(done) == step:
                    raise Killed(_name)
                return result

            setattr(owner, name, counted)
    return done


def new_group(harness: Harness) -> int:
    chat = -100_000 - len(harness.fake.calls)
    harness.fake.add_chat(chat)
    harness.fake.push_text(chat, "question")
    return chat


async def expected_chunks(harness: Harness, answer: str) -> tuple[list[str], int]:
    """What an uninterrupted delivery shows, and how many steps it takes."""
    chat = new_group(harness)
    delivery = harness.delivery()
    steps = kill_after(delivery, 0)
    await delivery.handle(harness.final(chat, answer))
    return harness.texts(chat), len(steps)


async def test_a_crash_after_any_step_of_a_long_answer_never_doubles_it(
    harness: Harness,
) -> None:
    expected, steps = await expected_chunks(harness, LONG_ANSWER)
    assert len(expected) >= 2

    for step in range(1, steps):
        chat = new_group(harness)
        answer = harness.final(chat, LONG_ANSWER)
        first = harness.delivery()
        kill_after(first, step)
        with pytest.raises(Killed):
            await first.handle(answer)

        await harness.delivery().handle(answer)

        shown = harness.texts(chat)
        filled = [text for text in shown if text != PLACEHOLDER]
        assert filled == expected, f"killed after step {step}"
        assert shown.count(PLACEHOLDER) <= 1, f"killed after step {step}"


async def test_a_crash_while_streaming_leaves_one_message_filled_by_the_final_answer(
    harness: Harness,
) -> None:
    for step in range(1, 6):
        chat = new_group(harness)
        msg_id = new_id()
        first = harness.delivery()
        kill_after(first, step)
        with pytest.raises(Killed):
            await _stream_then_answer(harness, first, chat, msg_id)
        await first.close()

        await harness.delivery().handle(harness.final(chat, "Done: the answer.", msg_id=msg_id))

        shown = harness.texts(chat)
        assert [t for t in shown if t != PLACEHOLDER] == ["Done: the answer."], step
        assert shown.count(PLACEHOLDER) <= 1, step


async def test_cancelling_the_delivery_at_any_bot_api_call_never_doubles_the_answer(
    harness: Harness,
) -> None:
    expected, _ = await expected_chunks(harness, LONG_ANSWER)
    calls_per_delivery = 2 * len(expected)

    for cut in range(1, calls_per_delivery + 1):
        chat = new_group(harness)
        answer = harness.final(chat, LONG_ANSWER)
        await _cancelled_at_call(harness, cut, harness.delivery().handle(answer))

        await harness.delivery().handle(answer)

        shown = harness.texts(chat)
        assert [t for t in shown if t != PLACEHOLDER] == expected, f"cancelled at call {cut}"
        assert shown.count(PLACEHOLDER) <= 1, f"cancelled at call {cut}"


async def _cancelled_at_call(harness: Harness, cut: int, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` and cancel it once the Bot API has received ``cut`` more calls."""
    before = len(harness.fake.calls)
    task = asyncio.create_task(work)
    await wait_until(
        lambda: len(harness.fake.calls) >= before + cut or task.done(), 10, every=0.001
    )
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _stream_then_answer(
    harness: Harness, delivery: TelegramDelivery, chat: int, msg_id: str
) -> None:
    for seq, text in enumerate(("Working", "Working on it", "Working on it, almost")):
        await delivery.handle(harness.snapshot(chat, text, seq, msg_id))
        await _stream_settled(delivery, msg_id)
    await delivery.handle(harness.final(chat, "Done: the answer.", msg_id=msg_id))


async def _stream_settled(delivery: TelegramDelivery, key: str) -> None:
    """Wait until the stream of ``key`` has shown its newest snapshot."""
    streams: Any = delivery.streams
    stream = streams._streams.get(key)
    if stream is not None and stream.task is not None:
        done = await asyncio.gather(stream.task, return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, Killed):
                raise outcome
