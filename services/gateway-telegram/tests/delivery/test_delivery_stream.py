"""Long answers stream into one growing message or draft, within Telegram's limits."""

from __future__ import annotations

import asyncio

import pytest

from praktor_common.ids import new_id
from praktor_common.testing.fake_telegram import RateLimits
from praktor_common.testing.nats import wait_until
from praktor_gateway_telegram.delivery import Limits
from praktor_gateway_telegram.delivery.sender import PLACEHOLDER
from praktor_gateway_telegram.delivery.testing import GROUP, PRIVATE, Harness

pytestmark = pytest.mark.integration

FAST = Limits(
    per_chat=None,
    per_group=None,
    per_bot=None,
    stream_interval_private=0.3,
    stream_interval_group=0.3,
    draft_interval=0.2,
)


async def test_a_streamed_answer_in_a_group_grows_in_one_message_then_is_replaced(
    harness: Harness,
) -> None:
    msg_id = new_id()
    delivery = harness.delivery(limits=FAST)
    text = ""
    for seq in range(30):
        text += f"word{seq} "
        await delivery.handle(harness.snapshot(GROUP, text, seq, msg_id))
        await asyncio.sleep(0.05)
    await wait_until(lambda: harness.texts(GROUP) == [text.strip()], 5)
    edits = len(harness.fake.calls_to("editMessageText"))

    await delivery.handle(harness.final(GROUP, "The **final** answer.", msg_id=msg_id))

    [message] = harness.fake.sent_messages(GROUP)
    assert message.text == "The final answer."
    assert message.entities[0]["type"] == "bold"
    assert edits <= 30 * 0.05 / 0.3 + 2, "snapshots are throttled, not shown one by one"
    assert await harness.rows(msg_id) == [(0, message.message_id, "sent", None)]


async def test_a_streamed_answer_in_a_private_chat_is_a_draft_until_the_final_message(
    harness: Harness,
) -> None:
    msg_id = new_id()
    delivery = harness.delivery(limits=FAST)
    for seq, text in enumerate(("Thinking", "Thinking about **it**", "Thinking about it now")):
        await delivery.handle(harness.snapshot(PRIVATE, text, seq, msg_id))
        await asyncio.sleep(0.25)
    await wait_until(lambda: bool(harness.fake.drafts(PRIVATE)), 5)
    assert harness.texts(PRIVATE) == [], "drafts are not messages"

    await delivery.handle(harness.final(PRIVATE, "Here it is.", msg_id=msg_id))

    drafts = harness.fake.drafts(PRIVATE)
    assert drafts[-1].text in ("Thinking about it", "Thinking about it now")
    assert len({d.draft_id for d in drafts}) == 1
    assert harness.texts(PRIVATE) == ["Here it is."]


async def test_where_drafts_are_refused_the_stream_edits_a_message(harness: Harness) -> None:
    harness.fake.inject_error("sendMessageDraft", 400, "Bad Request: method is not available")
    msg_id = new_id()
    delivery = harness.delivery(limits=FAST)

    await delivery.handle(harness.snapshot(PRIVATE, "Half of the", 0, msg_id))
    await wait_until(lambda: harness.texts(PRIVATE) == ["Half of the"], 5)
    await delivery.handle(harness.final(PRIVATE, "Half of the answer.", msg_id=msg_id))

    assert harness.texts(PRIVATE) == ["Half of the answer."]


async def test_a_late_snapshot_never_overwrites_the_final_answer(harness: Harness) -> None:
    msg_id = new_id()
    delivery = harness.delivery(limits=FAST)
    await delivery.handle(harness.final(GROUP, "Final.", msg_id=msg_id))

    await delivery.handle(harness.snapshot(GROUP, "Older snapshot", 3, msg_id))
    await harness.delivery(limits=FAST).handle(harness.snapshot(GROUP, "Older", 2, msg_id))
    await asyncio.sleep(0.5)

    assert harness.texts(GROUP) == ["Final."]


async def test_the_typing_indicator_runs_while_the_answer_streams_and_stops_at_the_end(
    harness: Harness,
) -> None:
    msg_id = new_id()
    delivery = harness.delivery(limits=FAST, typing_refresh=0.2)

    await delivery.handle(harness.snapshot(GROUP, "Hmm", 0, msg_id))
    await asyncio.sleep(0.5)
    assert delivery.typing.active(GROUP)
    await delivery.handle(harness.final(GROUP, "Done.", msg_id=msg_id))
    after_final = len(harness.fake.chat_actions(GROUP))
    await asyncio.sleep(0.5)

    assert harness.fake.chat_actions(GROUP)[:2] == ["typing", "typing"]
    assert not delivery.typing.active(GROUP)
    assert len(harness.fake.chat_actions(GROUP)) == after_final


@pytest.mark.parametrize("fake_limits", [RateLimits()])
async def test_a_long_answer_in_a_group_stays_within_telegrams_flood_limits(
    harness: Harness,
) -> None:
    msg_id = new_id()
    delivery = harness.delivery(limits=Limits(stream_interval_group=1.0))
    floods: list[float] = []

    def flooded(chat_id: int | None, seconds: float) -> None:
        floods.append(seconds)

    delivery.pacing.hold = flooded  # type: ignore[method-assign]
    text = ""
    for seq in range(20):
        text += f"Sentence number {seq}. " * 30 + "\n\n"
        await delivery.handle(harness.snapshot(GROUP, text, seq, msg_id))
        await asyncio.sleep(0.1)
    await delivery.handle(harness.final(GROUP, text, msg_id=msg_id))

    shown = harness.texts(GROUP)
    assert len(shown) >= 2
    assert PLACEHOLDER not in shown
    assert " ".join(shown).split() == text.split()
    assert floods == [], "paced sends never hit Telegram's flood control"


async def test_flood_control_while_streaming_pauses_the_stream(harness: Harness) -> None:
    harness.fake.inject_429("editMessageText", retry_after=1)
    msg_id = new_id()
    delivery = harness.delivery(limits=FAST)

    await delivery.handle(harness.snapshot(GROUP, "Streaming", 0, msg_id))
    await wait_until(lambda: harness.texts(GROUP) == ["Streaming"], 5)
    await delivery.handle(harness.final(GROUP, "Streamed.", msg_id=msg_id))

    assert harness.texts(GROUP) == ["Streamed."]
