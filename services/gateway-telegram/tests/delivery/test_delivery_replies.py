"""Answers and notices as the chat shows them, recorded in ``telegram_replies``.

Driven through the real aiogram Bot against the fake Bot API, with a real
PostgreSQL.
"""

from __future__ import annotations

import time

import pytest

from praktor_common.testing.fake_telegram import MESSAGE_LIMIT, utf16_len
from praktor_gateway_telegram.delivery.testing import GROUP, PERSON_MESSAGE, PRIVATE, Harness

pytestmark = pytest.mark.integration


async def test_an_answer_is_rendered_and_answers_the_persons_message(harness: Harness) -> None:
    delivery = harness.final(PRIVATE, "All **done**, see `make test`.")

    await harness.delivery().handle(delivery)

    [message] = harness.fake.sent_messages(PRIVATE)
    assert message.text == "All done, see make test."
    assert [(e["type"], e["offset"], e["length"]) for e in message.entities] == [
        ("bold", 4, 4),
        ("code", 14, 9),
    ]
    assert message.reply_to_message_id == PERSON_MESSAGE
    assert await harness.rows(delivery.msg_id) == [(0, message.message_id, "sent", None)]


async def test_another_agents_answer_names_the_agent(harness: Harness) -> None:
    await harness.delivery().handle(harness.final(PRIVATE, "Fixed it.", agent="coder"))

    [message] = harness.fake.sent_messages(PRIVATE)
    assert message.text == "coder: Fixed it."
    assert [(e["type"], e["offset"], e["length"]) for e in message.entities] == [("italic", 0, 6)]


async def test_an_answer_that_ended_early_carries_the_warning_line(harness: Harness) -> None:
    delivery = harness.final(PRIVATE, "Partial answer.", terminal_reason="max_turns")

    await harness.delivery().handle(delivery)

    assert harness.texts(PRIVATE) == ["Partial answer.\n\n⚠️ Agent stopped: max turns"]


async def test_an_empty_answer_shows_nothing(harness: Harness) -> None:
    delivery = harness.final(PRIVATE, "   ")

    await harness.delivery().handle(delivery)

    assert harness.texts(PRIVATE) == []
    assert harness.fake.calls_to("sendMessage") == []


async def test_a_long_answer_is_split_without_cutting_its_code_block(harness: Harness) -> None:
    code = "\n".join(f"line_{n} = {n}" for n in range(200))
    prose = "A paragraph of prose that goes on. " * 100
    markdown = f"{prose}\n\n```python\n{code}\n```\n\nThe end 😀."
    delivery = harness.final(GROUP, markdown)

    await harness.delivery().handle(delivery)

    messages = harness.fake.sent_messages(GROUP)
    assert len(messages) >= 2
    assert all(utf16_len(m.text) <= MESSAGE_LIMIT for m in messages)
    with_code = [m for m in messages if any(e["type"] == "pre" for e in m.entities)]
    assert len(with_code) == 1
    assert code in with_code[0].text
    assert messages[-1].text.endswith("The end 😀.")
    assert [m.reply_to_message_id for m in messages] == [PERSON_MESSAGE] + [None] * (
        len(messages) - 1
    )
    rows = await harness.rows(delivery.msg_id)
    assert [(index, state) for index, _, state, _ in rows] == [
        (index, "sent") for index in range(len(messages))
    ]


async def test_a_redelivered_answer_sends_nothing_again(harness: Harness) -> None:
    delivery = harness.final(PRIVATE, "Once only.")
    await harness.delivery().handle(delivery)
    calls = len(harness.fake.calls)

    await harness.delivery().handle(delivery)

    assert harness.texts(PRIVATE) == ["Once only."]
    assert len(harness.fake.calls) == calls


async def test_refused_entities_fall_back_to_plain_text_with_link_urls(harness: Harness) -> None:
    harness.fake.inject_error(
        "editMessageText", 400, "Bad Request: can't parse entities: unsupported start tag"
    )

    await harness.delivery().handle(
        harness.final(PRIVATE, "Read **the** [guide](https://example.com/guide).")
    )

    [message] = harness.fake.sent_messages(PRIVATE)
    assert message.text == "Read the guide (https://example.com/guide)."
    assert message.entities == ()


async def test_flood_control_is_waited_out(harness: Harness) -> None:
    harness.fake.inject_429("sendMessage", retry_after=1)
    started = time.monotonic()

    await harness.delivery().handle(harness.final(PRIVATE, "After the wait."))

    assert time.monotonic() - started >= 1.0
    assert harness.texts(PRIVATE) == ["After the wait."]


async def test_a_reply_telegram_refuses_is_recorded_and_the_chat_is_told(
    harness: Harness,
) -> None:
    harness.fake.inject_error("editMessageText", 400, "Bad Request: MESSAGE_TOO_LONG")
    delivery = harness.final(PRIVATE, "Refused.")

    await harness.delivery().handle(delivery)

    [(index, _, state, error)] = await harness.rows(delivery.msg_id)
    assert (index, state) == (0, "failed")
    assert "MESSAGE_TOO_LONG" in (error or "")
    shown = harness.texts(PRIVATE)
    assert shown[-1].startswith("⚠️ A reply could not be shown here")
    assert "MESSAGE_TOO_LONG" in shown[-1]
    assert "Ask the agent again" in shown[-1]


async def test_a_chat_that_blocked_the_bot_is_recorded_without_retrying(
    harness: Harness,
) -> None:
    harness.fake.inject_error("sendMessage", 403, "Forbidden: bot was blocked by the user")
    delivery = harness.final(PRIVATE, "Nobody reads this.")

    await harness.delivery().handle(delivery)

    [(_, message_id, state, error)] = await harness.rows(delivery.msg_id)
    assert (message_id, state) == (None, "failed")
    assert "blocked" in (error or "")
    assert len(harness.fake.calls_to("sendMessage")) == 1


async def test_notices_are_plain_text(harness: Harness) -> None:
    await harness.delivery().handle(harness.notice(GROUP, "Agent *main* is starting_up."))

    [message] = harness.fake.sent_messages(GROUP)
    assert message.text == "Agent *main* is starting_up."
    assert message.entities == ()


async def test_a_markdown_notice_such_as_a_command_reply_is_rendered(harness: Harness) -> None:
    notice = harness.notice(
        GROUP, "Stopped *coder*. Send `/reset coder` to start anew.", markdown=True
    )
    await harness.delivery().handle(notice)

    [message] = harness.fake.sent_messages(GROUP)
    assert message.text == "Stopped coder. Send /reset coder to start anew."
    assert [e["type"] for e in message.entities] == ["bold", "code"]


async def test_a_notice_and_the_answer_of_one_turn_are_separate_messages(
    harness: Harness,
) -> None:
    answer = harness.final(PRIVATE, "The answer.")
    notice = harness.notice(PRIVATE, "Waiting for a free slot.", msg_id=answer.msg_id)
    delivery = harness.delivery()

    await delivery.handle(notice)
    await delivery.handle(answer)

    assert harness.texts(PRIVATE) == ["Waiting for a free slot.", "The answer."]
