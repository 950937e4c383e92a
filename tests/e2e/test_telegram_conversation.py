"""A person talks to the suite from Telegram: every service, the real aiogram gateway, the
real agent-runner and Claude Code; only Telegram, the speech API and the model are fakes.

One suite serves the module and the tests run in order, as one conversation in the
owner's private chat, ending with ``kill -9`` of the gateway and then of the router while
answers are on their way. What the person sees is what :class:`FakeTelegram` holds for
the chat: the bot's messages with every edit applied.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

import pytest
import pytest_asyncio

from praktor_common.testing.fake_anthropic import (
    Answer,
    RecordedRequest,
    Reply,
    ThreadedFakeAnthropic,
    text_reply,
)
from praktor_common.testing.fake_speech import SPEECH_PATH, FakeSpeech
from praktor_common.testing.fake_telegram import FakeTelegram, SentMessage
from tests.e2e.agent_harness import start_agent_suite, workspace
from tests.e2e.harness import Suite
from tests.e2e.telegram import (
    OWNER,
    PLACEHOLDER,
    STRANGER,
    Person,
    Served,
    back_again,
    kill_service,
    no_placeholders_left,
    serve_speech,
    serve_telegram,
    telegram_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

AGENTS = {
    "general": {"description": "General assistant"},
    "coder": {"description": "Writes and fixes code"},
}
FILE_SEND = "mcp__praktor-file__file_send"


def is_routing(request: RecordedRequest) -> bool:
    """The router's smart-routing question (answered "OK": routing falls back)."""
    return "You are a message router" in request.all_text()


def png(width: int, height: int) -> bytes:
    """A real, tiny PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def model() -> Iterator[ThreadedFakeAnthropic]:
    with ThreadedFakeAnthropic(side_request=is_routing) as served:
        yield served


@pytest.fixture(scope="module")
def telegram() -> Iterator[Served[FakeTelegram]]:
    with serve_telegram() as served:
        yield served


@pytest.fixture(scope="module")
def speech() -> Iterator[Served[FakeSpeech]]:
    with serve_speech() as served:
        yield served


@pytest.fixture(scope="module")
def suite(
    model: ThreadedFakeAnthropic, telegram: Served[FakeTelegram], speech: Served[FakeSpeech]
) -> Iterator[Suite]:
    config = telegram_config(model=model.base_url, telegram=telegram, speech=speech, agents=AGENTS)
    with start_agent_suite(config) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def owner(suite: Suite, telegram: Served[FakeTelegram]) -> AsyncIterator[Person]:
    yield Person(suite, telegram)


async def test_the_bot_menu_is_registered_at_start(
    owner: Person, telegram: Served[FakeTelegram]
) -> None:
    menu = telegram.call(lambda fake: fake.commands())
    names = {command["command"] for command in menu}
    assert {"agents", "start", "stop", "reset", "commands"} <= names


async def test_a_text_is_answered_once_in_the_same_chat(
    owner: Person, model: ThreadedFakeAnthropic, telegram: Served[FakeTelegram]
) -> None:
    model.fake.reply_text("Hello from the model.", chunks=3, chunk_delay=0.05)

    asked = owner.say("Hi there")
    answer = await owner.answer("Hello from the model.")

    assert answer.reply_to_message_id == asked
    assert model.fake.conversation[-1].last_user_text().endswith("Hi there")
    assert PLACEHOLDER not in owner.texts()
    assert "typing" in telegram.call(lambda fake: fake.chat_actions(OWNER))


async def test_an_at_prefix_talks_to_that_agent_and_its_answer_is_signed(
    owner: Person, model: ThreadedFakeAnthropic
) -> None:
    model.fake.reply_text("The tests pass now.")

    owner.say("@coder fix the tests")
    answer = await owner.answer("coder: The tests pass now.")

    request = model.fake.conversation[-1]
    assert request.last_user_text().endswith("fix the tests")
    assert "@coder" not in request.last_user_text()
    assert answer.entities, "the agent's name is set in italics"


async def test_replying_to_an_agents_message_goes_back_to_that_agent(
    owner: Person, model: ThreadedFakeAnthropic
) -> None:
    coders = next(m for m in owner.bot_messages() if m.text.startswith("coder:"))
    model.fake.reply_text("The docs are fixed too.")

    owner.say("and the docs?", reply_to=coders.message_id)

    await owner.answer("coder: The docs are fixed too.")
    asked = model.fake.conversation[-1].last_user_text()
    assert "[Replying to message:" in asked
    assert asked.endswith("and the docs?")


async def test_agents_lists_every_agent(owner: Person) -> None:
    asked = owner.say("/agents")

    [listing] = await owner.replied(asked, within=30)
    assert "general" in listing.text
    assert "coder" in listing.text
    assert "Writes and fixes code" in listing.text


async def test_a_long_answer_streams_and_arrives_whole_in_several_messages(
    owner: Person, model: ThreadedFakeAnthropic, telegram: Served[FakeTelegram]
) -> None:
    paragraphs = [f"Paragraph {n}: " + " ".join(["word"] * 120) for n in range(1, 11)]
    long_answer = "\n\n".join(paragraphs)
    assert len(long_answer) > 4096
    drafts_before = len(telegram.call(lambda fake: fake.drafts(OWNER)))
    model.fake.reply_text(long_answer, chunks=20, chunk_delay=0.15)

    asked = owner.say("@general Write me something long.")
    await owner.wait(
        lambda ms: any("Paragraph 10:" in m.text for m in ms) and no_placeholders_left(ms),
        120,
        "the whole long answer",
    )

    parts = [m for m in owner.bot_messages() if m.message_id > asked]
    assert len(parts) >= 2, "more than 4096 characters take several messages"
    assert parts[0].reply_to_message_id == asked
    shown = "\n".join(m.text for m in parts)
    for paragraph in paragraphs:
        assert shown.count(paragraph) == 1, f"{paragraph[:14]} is shown once"
    streamed = telegram.call(lambda fake: fake.drafts(OWNER))[drafts_before:]
    assert streamed, "the answer was streamed as a draft while it was written"


async def test_stop_aborts_the_running_turn_and_the_agent_answers_the_next_message(
    owner: Person, model: ThreadedFakeAnthropic
) -> None:
    gate = model.hold()
    model.fake.queue(text_reply("This answer never finish", hold=gate))
    before = len(model.fake.conversation)
    owner.say("@general Tell me a very long story.")
    await model.wait_for_requests_async(before + 1, timeout=60)

    stop = owner.say("/stop general")
    [stopped] = await owner.replied(stop, within=30)
    assert "Stopped" in stopped.text
    assert "general" in stopped.text
    model.release(gate)

    model.fake.reply_text("Still here.")
    owner.say("@general Are you there?")
    await owner.answer("Still here.")
    assert not any("never finish" in text for text in owner.texts())


async def test_reset_starts_a_new_session(owner: Person, model: ThreadedFakeAnthropic) -> None:
    reset = owner.say("/reset general")
    [done] = await owner.replied(reset, within=60)
    assert "New session" in done.text

    model.fake.reply_text("A fresh start.")
    owner.say("@general Who am I?")
    await owner.answer("A fresh start.")
    earlier = model.fake.conversation[-1].message_texts("user")
    assert not any(text.endswith("Hi there") for text in earlier), "the old session is gone"


async def test_an_album_reaches_the_agent_as_one_message_with_its_files(
    owner: Person, model: ThreadedFakeAnthropic, suite: Suite
) -> None:
    picture = png(4, 3)
    notes = b"shopping list: apples, pears\n"
    owner.push(
        lambda fake: fake.push_album(
            OWNER, [("photo", picture), ("document", notes)], caption="@general Look at these"
        )
    )
    model.fake.reply_text("Nice picture and a good list.")

    await owner.answer("Nice picture and a good list.")

    asked = model.fake.conversation[-1].last_user_text()
    assert "Look at these" in asked
    assert asked.count("[File received:") == 2, asked
    uploads = workspace(suite, "general") / "uploads"
    stored = {path.read_bytes() for path in uploads.iterdir()}
    assert picture in stored
    assert notes in stored


async def test_a_file_the_agent_sends_arrives_as_a_document(
    owner: Person, model: ThreadedFakeAnthropic, suite: Suite
) -> None:
    report = workspace(suite, "general") / "report.txt"
    report.write_text("All green.\n")
    report.chmod(0o644)
    model.fake.reply_tool_use(FILE_SEND, {"path": "report.txt", "caption": "Your report"})
    model.fake.reply_text("I sent you the report.")

    owner.say("@general Send me the report.")
    await owner.answer("I sent you the report.")

    documents = [m for m in owner.bot_messages() if m.kind == "document"]
    assert [(m.file_name, m.file, m.text) for m in documents] == [
        ("report.txt", b"All green.\n", "Your report")
    ]
    [result] = model.fake.conversation[-1].tool_results()
    assert "File sent" in str(result["content"])


async def test_a_voice_note_is_transcribed_and_answered_with_voice(
    owner: Person, model: ThreadedFakeAnthropic, speech: Served[FakeSpeech]
) -> None:
    audio = b"OggS\x00fake-voice-note-what-time-is-it"
    speech.call(lambda fake: fake.transcripts.__setitem__(audio, "what time is it"))
    model.fake.reply_text("It is five o'clock.")

    owner.push(lambda fake: fake.push_voice(OWNER, audio, duration=2))

    await owner.wait(lambda ms: any(m.kind == "voice" for m in ms), 120, "a spoken answer")
    assert model.fake.conversation[-1].last_user_text().endswith("what time is it")
    [spoken] = [m for m in owner.bot_messages() if m.kind == "voice"]
    assert spoken.file is not None
    assert b"It is five o'clock." in spoken.file
    said = speech.call(lambda fake: fake.requests_to(SPEECH_PATH))
    assert [r.fields.get("input") for r in said] == ["It is five o'clock."]
    assert not any("five o'clock" in m.text for m in owner.bot_messages() if m.kind == "text")


async def test_flood_control_delays_an_answer_but_never_doubles_it(
    owner: Person, model: ThreadedFakeAnthropic, telegram: Served[FakeTelegram]
) -> None:
    def flood(fake: FakeTelegram) -> None:
        fake.inject_429("sendMessage", retry_after=1, times=2)
        fake.inject_429("editMessageText", retry_after=1)

    sent_before = len(telegram.call(lambda fake: fake.calls_to("sendMessage")))
    telegram.call(flood)
    model.fake.reply_text("Here despite the flood.")

    asked = owner.say("@general Are you flooded?")

    assert [m.text for m in await owner.replied(asked)] == ["Here despite the flood."]
    tries = telegram.call(lambda fake: fake.calls_to("sendMessage"))[sent_before:]
    assert len(tries) >= 3, "the message was tried again after each 429"


async def test_an_unknown_sender_is_refused_and_answered_once_approved(
    suite: Suite, telegram: Served[FakeTelegram], model: ThreadedFakeAnthropic
) -> None:
    stranger = Person(suite, telegram, STRANGER)
    requests_before = len(model.fake.conversation)

    stranger.say("hello, who are you?")
    refusal = await stranger.message_containing(str(STRANGER), within=30)
    pending = await asyncio.to_thread(suite.praktor, "telegram", "pending")
    assert str(STRANGER) in pending.stdout, pending.stdout + pending.stderr
    stranger.say("hello again?")
    await asyncio.sleep(3)
    assert stranger.texts() == [refusal.text], "a refused sender is told once"
    assert len(model.fake.conversation) == requests_before, "no agent saw their messages"

    approved = await asyncio.to_thread(suite.praktor, "telegram", "approve", str(STRANGER))
    assert approved.returncode == 0, approved.stdout + approved.stderr
    model.fake.reply_text("Nice to meet you.")
    stranger.say("@general hello, may I talk now?")

    await stranger.answer("Nice to meet you.")


def answering(replies: Mapping[str, Reply]) -> Callable[[RecordedRequest], Answer]:
    """A model that answers each question by its text, whichever agent asks first."""

    def respond(request: RecordedRequest) -> Answer:
        asked = request.last_user_text()
        for question, reply in replies.items():
            if asked.endswith(question):
                return reply
        return text_reply("(unexpected question)")

    return respond


async def all_answered_once(owner: Person, expected: Mapping[int, str]) -> None:
    """Each question got its answer, shown exactly once; no placeholder is left."""
    first = min(expected)

    def done(messages: list[SentMessage]) -> bool:
        return all(any(m.text == text for m in messages) for text in expected.values())

    messages = await owner.wait(done, 150, "every answer")
    await asyncio.sleep(3)  # time for a second copy, were there one
    messages = [m for m in owner.bot_messages() if m.message_id > first]
    for asked, text in expected.items():
        shown = [m for m in messages if m.text == text]
        assert len(shown) == 1, f"{text!r} is shown {len(shown)} times"
        assert shown[0].reply_to_message_id == asked
    assert no_placeholders_left(messages), [m.text for m in messages]


async def test_answers_in_flight_when_the_gateway_is_killed_arrive_once(
    owner: Person, model: ThreadedFakeAnthropic, suite: Suite
) -> None:
    gate = model.hold()
    replies = {
        "first while streaming": text_reply("General's answer, held.", chunks=4, hold=gate),
        "second while streaming": text_reply("Coder's answer, held.", chunks=4, hold=gate),
        "sent while the gateway was down": text_reply("Answered after the restart."),
    }
    model.fake.responder = answering(replies)
    before = len(model.fake.conversation)
    first = owner.say("@general first while streaming")
    second = owner.say("@coder second while streaming")
    await model.wait_for_requests_async(before + 2, timeout=60)
    await asyncio.sleep(2)  # the first snapshots reach the gateway

    killed = kill_service(suite, "gateway-telegram")
    down = owner.say("@general sent while the gateway was down")
    model.release(gate)
    await back_again(suite, "gateway-telegram", killed)

    await all_answered_once(
        owner,
        {
            first: "General's answer, held.",
            second: "coder: Coder's answer, held.",
            down: "Answered after the restart.",
        },
    )


async def test_answers_in_flight_when_the_router_is_killed_arrive_once(
    owner: Person, model: ThreadedFakeAnthropic, suite: Suite
) -> None:
    gate = model.hold()
    replies = {
        "third while streaming": text_reply("General streams on.", chunks=4, hold=gate),
        "fourth while streaming": text_reply("Coder streams on.", chunks=4, hold=gate),
        "sent while the router was down": text_reply("Routed after the restart."),
    }
    model.fake.responder = answering(replies)
    before = len(model.fake.conversation)
    first = owner.say("@general third while streaming")
    second = owner.say("@coder fourth while streaming")
    await model.wait_for_requests_async(before + 2, timeout=60)

    killed = kill_service(suite, "router")
    down = owner.say("@coder sent while the router was down")
    model.release(gate)
    await back_again(suite, "router", killed)

    await all_answered_once(
        owner,
        {
            first: "General streams on.",
            second: "coder: Coder streams on.",
            down: "coder: Routed after the restart.",
        },
    )
