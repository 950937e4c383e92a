"""The fake Telegram Bot API, driven by the real aiogram 3 client stack.

Whatever aiogram accepts here it would accept from Telegram: every answer is
parsed by aiogram's own models.
"""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)

from praktor_common.testing.fake_telegram import (
    NOT_MODIFIED,
    EntityParseError,
    FakeTelegram,
    Rate,
    RateLimits,
    fake_telegram,  # noqa: F401 - the fixture
    parse_html,
    parse_markdown_v2,
)

T = TypeVar("T")
CHAT = 4242  # a private chat: the person's id
GROUP = -100777


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (width + 1) * height)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _bot_for(fake: FakeTelegram, *, is_local: bool = False) -> Bot:
    api = TelegramAPIServer.from_base(fake.base_url, is_local=is_local)
    return Bot(fake.token, session=AiohttpSession(api=api))


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:  # noqa: F811
    bot = _bot_for(fake_telegram)
    fake_telegram.add_chat(CHAT)
    yield bot
    await bot.session.close()


@pytest.fixture
def fake(fake_telegram: FakeTelegram) -> FakeTelegram:  # noqa: F811
    return fake_telegram


async def _with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """What a careful client does: wait ``retry_after`` and try again."""
    while True:
        try:
            return await call()
        except TelegramRetryAfter as error:
            await asyncio.sleep(error.retry_after)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- getMe and long polling ---------------------------------------------------


async def test_get_me_describes_the_bot(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "praktor_test_bot"
    assert me.id == int(fake.token.split(":")[0])


async def test_a_long_poll_returns_as_soon_as_an_update_is_pushed(
    bot: Bot, fake: FakeTelegram
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done(), "the poll must wait while there is nothing"
    fake.push_text(CHAT, "hello")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates if u.message] == ["hello"]
    message = updates[0].message
    assert message is not None
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.id == CHAT


async def test_a_long_poll_times_out_empty(bot: Bot) -> None:
    assert await bot.get_updates(timeout=1) == []


async def test_updates_stay_until_an_offset_confirms_them(bot: Bot, fake: FakeTelegram) -> None:
    fake.push_text(CHAT, "one")
    fake.push_text(CHAT, "two")
    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert await bot.get_updates(offset=first[0].update_id + 1, timeout=0) == first[1:]
    assert await bot.get_updates(offset=first[1].update_id + 1, timeout=0) == []
    assert fake.pending_updates == 0


async def test_limit_caps_one_answer(bot: Bot, fake: FakeTelegram) -> None:
    for n in range(5):
        fake.push_text(CHAT, str(n))
    assert [u.message.text for u in await bot.get_updates(limit=2) if u.message] == ["0", "1"]


async def test_allowed_updates_filter_and_persist(bot: Bot, fake: FakeTelegram) -> None:
    await bot.get_updates(allowed_updates=["channel_post"], timeout=0)
    fake.push_text(CHAT, "ignored")
    fake.push_channel_post(-100555, "news")
    updates = await bot.get_updates(timeout=0)  # no allowed_updates: the last setting holds
    assert [u.channel_post.text for u in updates if u.channel_post] == ["news"]
    assert all(u.message is None for u in updates)


async def test_a_second_poller_ends_the_first_with_a_conflict(bot: Bot, fake: FakeTelegram) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 2)
    assert await second == []


# --- Updates look like Telegram's -------------------------------------------------


def _parsed(bot: Bot, update: dict[str, Any]) -> Update:
    return Update.model_validate(update, context={"bot": bot})


async def test_a_command_carries_its_bot_command_entity(bot: Bot, fake: FakeTelegram) -> None:
    message = _parsed(bot, fake.push_text(CHAT, "/start@praktor_test_bot coder")).message
    assert message is not None
    assert message.entities is not None
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start@praktor_test_bot")


async def test_a_reply_carries_the_message_it_answers(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "I am the agent")
    message = _parsed(bot, fake.push_text(CHAT, "thanks", reply_to=sent.message_id)).message
    assert message is not None
    assert message.reply_to_message is not None
    assert message.reply_to_message.text == "I am the agent"
    assert message.reply_to_message.from_user is not None
    assert message.reply_to_message.from_user.is_bot


async def test_a_photo_lists_its_sizes_largest_last(bot: Bot, fake: FakeTelegram) -> None:
    update = fake.push_photo(CHAT, _png(640, 480), caption="look")
    message = _parsed(bot, update).message
    assert message is not None
    assert message.photo is not None
    assert message.caption == "look"
    assert (message.photo[-1].width, message.photo[-1].height) == (640, 480)
    assert message.photo[0].width < message.photo[-1].width


async def test_a_document_has_its_name_and_type(bot: Bot, fake: FakeTelegram) -> None:
    message = _parsed(bot, fake.push_document(CHAT, b"%PDF-1.4", file_name="a.pdf")).message
    assert message is not None
    assert message.document is not None
    assert message.document.file_name == "a.pdf"
    assert message.document.mime_type == "application/pdf"
    assert message.document.file_size == 8


async def test_a_voice_note_has_duration_and_type(bot: Bot, fake: FakeTelegram) -> None:
    message = _parsed(bot, fake.push_voice(CHAT, b"OggS...", duration=3)).message
    assert message is not None
    assert message.voice is not None
    assert (message.voice.duration, message.voice.mime_type) == (3, "audio/ogg")


async def test_an_album_shares_one_media_group_with_the_caption_first(
    bot: Bot, fake: FakeTelegram
) -> None:
    updates = fake.push_album(CHAT, [("photo", _png(2, 2)), ("document", b"x")], caption="both")
    messages = [_parsed(bot, u).message for u in updates]
    assert all(m is not None for m in messages)
    groups = {m.media_group_id for m in messages if m is not None}
    assert len(groups) == 1
    assert None not in groups
    assert [m.caption for m in messages if m is not None] == ["both", None]


async def test_a_channel_post_has_a_sender_chat_and_no_sender(bot: Bot, fake: FakeTelegram) -> None:
    post = _parsed(bot, fake.push_channel_post(-100555, "news")).channel_post
    assert post is not None
    assert post.from_user is None
    assert post.sender_chat is not None
    assert post.chat.type == "channel"


async def test_a_group_message_comes_from_a_member(bot: Bot, fake: FakeTelegram) -> None:
    message = _parsed(bot, fake.push_text(GROUP, "hi all", user_id=77)).message
    assert message is not None
    assert message.chat.type == "supergroup"
    assert message.from_user is not None
    assert message.from_user.id == 77


# --- Sending and editing --------------------------------------------------------


async def test_send_message_with_entities_is_stored(bot: Bot, fake: FakeTelegram) -> None:
    entities = [
        MessageEntity(type="bold", offset=0, length=4),
        MessageEntity(type="text_link", offset=5, length=4, url="https://example.com"),
    ]
    sent = await bot.send_message(CHAT, "Done docs 😀", entities=entities)
    assert [e.model_dump() for e in sent.entities or []] == [e.model_dump() for e in entities]
    (stored,) = fake.sent_messages(CHAT)
    assert stored.message_id == sent.message_id
    assert stored.text == "Done docs 😀"
    assert stored.entities == (
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 5, "length": 4, "url": "https://example.com"},
    )


async def test_markdown_v2_is_parsed_into_entities(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(CHAT, "*bold* file\\.txt `x`", parse_mode="MarkdownV2")
    (stored,) = fake.sent_messages(CHAT)
    assert stored.text == "bold file.txt x"
    assert stored.entities == (
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "code", "offset": 14, "length": 1},
    )


async def test_unescaped_markdown_v2_is_refused_like_telegram_does(bot: Bot) -> None:
    with pytest.raises(
        TelegramBadRequest, match=r"can't parse entities: Character '\.' is reserved"
    ):
        await bot.send_message(CHAT, "file.txt", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match="Can't find end of the entity starting at byte"):
        await bot.send_message(CHAT, "*open", parse_mode="MarkdownV2")


async def test_html_is_parsed_into_entities(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(
        CHAT,
        '<b>hi</b> <a href="https://e.com">e</a> <pre><code class="language-py">x</code></pre>',
        parse_mode="HTML",
    )
    (stored,) = fake.sent_messages(CHAT)
    assert stored.text == "hi e x"
    assert stored.entities == (
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 3, "length": 1, "url": "https://e.com"},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
    )


@pytest.mark.parametrize(
    "entity",
    [
        MessageEntity(type="bold", offset=3, length=10),
        MessageEntity(type="bold", offset=1, length=1),  # half of the emoji
        MessageEntity(type="text_link", offset=0, length=2, url="./relative"),
    ],
)
async def test_bad_entities_are_refused(
    bot: Bot, fake: FakeTelegram, entity: MessageEntity
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(CHAT, "😀 hi", entities=[entity])
    assert fake.sent_messages(CHAT) == []


async def test_a_message_over_4096_utf16_units_is_too_long(bot: Bot) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "😀" * 2049)


async def test_an_empty_message_is_refused(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "  ")


async def test_an_unknown_chat_is_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hi")


async def test_a_reply_to_a_missing_message_is_refused(bot: Bot, fake: FakeTelegram) -> None:
    asked = fake.push_text(CHAT, "question")["message"]["message_id"]
    sent = await bot.send_message(
        CHAT, "answer", reply_parameters=ReplyParameters(message_id=asked)
    )
    assert sent.reply_to_message is not None
    assert fake.sent_messages(CHAT)[0].reply_to_message_id == asked
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(CHAT, "x", reply_parameters=ReplyParameters(message_id=9999))


async def test_an_edit_replaces_the_text_and_is_remembered(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "draft")
    edited = await bot.edit_message_text(
        "final answer",
        chat_id=CHAT,
        message_id=sent.message_id,
        entities=[MessageEntity(type="italic", offset=0, length=5)],
    )
    assert not isinstance(edited, bool)
    assert edited.edit_date is not None
    (stored,) = fake.sent_messages(CHAT)
    assert (stored.text, stored.edits) == ("final answer", ("draft",))
    assert stored.entities == ({"type": "italic", "offset": 0, "length": 5},)


async def test_an_edit_to_the_same_content_is_not_modified(bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "same")
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.edit_message_text("same", chat_id=CHAT, message_id=sent.message_id)
    assert refused.value.message == NOT_MODIFIED


async def test_an_edit_of_a_missing_or_foreign_message_is_refused(
    bot: Bot, fake: FakeTelegram
) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=12345)
    theirs = fake.push_text(CHAT, "mine")["message"]["message_id"]
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=theirs)


async def test_a_deleted_message_is_gone(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(CHAT, "oops")
    assert await bot.delete_message(CHAT, sent.message_id)
    assert fake.sent_messages(CHAT) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)


async def test_chat_actions_are_recorded(bot: Bot, fake: FakeTelegram) -> None:
    assert await bot.send_chat_action(CHAT, "typing")
    assert fake.chat_actions(CHAT) == ["typing"]
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(CHAT, "dancing")


async def test_drafts_stream_to_private_chats_only(bot: Bot, fake: FakeTelegram) -> None:
    assert await bot.send_message_draft(chat_id=CHAT, draft_id=7, text="Thinking")
    assert await bot.send_message_draft(chat_id=CHAT, draft_id=7, text="Thinking harder")
    assert [d.text for d in fake.drafts(CHAT)] == ["Thinking", "Thinking harder"]
    fake.add_chat(GROUP)
    with pytest.raises(TelegramBadRequest, match="private"):
        await bot.send_message_draft(chat_id=GROUP, draft_id=7, text="x")


async def test_commands_round_trip(bot: Bot, fake: FakeTelegram) -> None:
    commands = [BotCommand(command="agents", description="List agents")]
    assert await bot.set_my_commands(commands)
    assert [c.model_dump() for c in await bot.get_my_commands()] == [
        c.model_dump() for c in commands
    ]
    assert fake.commands() == [{"command": "agents", "description": "List agents"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Name", description="x")])


# --- Flood control --------------------------------------------------------------


async def test_an_injected_429_is_honoured_by_waiting_and_retrying(
    bot: Bot, fake: FakeTelegram
) -> None:
    fake.inject_429("sendMessage", retry_after=1)
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(CHAT, "now")
    assert refused.value.retry_after == 1
    assert fake.sent_messages(CHAT) == []

    fake.inject_429("sendMessage", retry_after=1, times=1)
    started = asyncio.get_running_loop().time()
    await _with_retry(lambda: bot.send_message(CHAT, "later"))
    assert asyncio.get_running_loop().time() - started >= 1
    assert [m.text for m in fake.sent_messages(CHAT)] == ["later"]


async def test_one_chat_gets_about_one_message_a_second() -> None:
    clock = _Clock()
    limits = RateLimits(per_chat=Rate(1, 1.0, burst=1))
    async with FakeTelegram(rate_limits=limits, clock=clock) as fake:
        fake.add_chat(CHAT)
        bot = _bot_for(fake)
        try:
            await bot.send_message(CHAT, "one")
            with pytest.raises(TelegramRetryAfter) as refused:
                await bot.send_message(CHAT, "two")
            assert refused.value.retry_after == 1
            with pytest.raises(TelegramRetryAfter):
                await bot.edit_message_text("edited", chat_id=CHAT, message_id=1)
            clock.now += 1
            await bot.send_message(CHAT, "two")
        finally:
            await bot.session.close()
        assert [m.text for m in fake.sent_messages(CHAT)] == ["one", "two"]


async def test_a_group_gets_twenty_messages_a_minute() -> None:
    clock = _Clock()
    limits = RateLimits(per_chat=None)
    async with FakeTelegram(rate_limits=limits, clock=clock) as fake:
        fake.add_chat(GROUP)
        bot = _bot_for(fake)
        try:
            for n in range(20):
                await bot.send_message(GROUP, str(n))
            with pytest.raises(TelegramRetryAfter) as refused:
                await bot.send_message(GROUP, "21st")
            assert refused.value.retry_after == 3
            clock.now += 3
            await bot.send_message(GROUP, "21st")
        finally:
            await bot.session.close()


async def test_the_bot_gets_thirty_messages_a_second_overall() -> None:
    clock = _Clock()
    async with FakeTelegram(rate_limits=RateLimits(per_chat=None), clock=clock) as fake:
        bot = _bot_for(fake)
        try:
            for chat in range(1, 31):
                fake.add_chat(chat)
                await bot.send_message(chat, "hi")
            fake.add_chat(31)
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(31, "hi")
        finally:
            await bot.session.close()


# --- Files ---------------------------------------------------------------------


async def test_an_uploaded_document_round_trips_through_get_file(
    bot: Bot, fake: FakeTelegram
) -> None:
    data = b"%PDF-1.4 report" * 100
    sent = await bot.send_document(
        CHAT, BufferedInputFile(data, filename="report.pdf"), caption="Here"
    )
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("report.pdf", "application/pdf")
    (stored,) = fake.sent_messages(CHAT)
    assert (stored.kind, stored.text, stored.file, stored.file_name) == (
        "document",
        "Here",
        data,
        "report.pdf",
    )
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == data


async def test_a_file_a_person_sent_can_be_downloaded(bot: Bot, fake: FakeTelegram) -> None:
    update = _parsed(bot, fake.push_document(CHAT, b"notes", file_name="n.txt"))
    assert update.message is not None
    assert update.message.document is not None
    downloaded = await bot.download(update.message.document.file_id)
    assert downloaded is not None
    assert downloaded.read() == b"notes"


async def test_local_mode_hands_out_paths_on_disk() -> None:
    async with FakeTelegram(local_mode=True) as fake:
        fake.add_chat(CHAT)
        bot = _bot_for(fake, is_local=True)
        try:
            update = _parsed(bot, fake.push_document(CHAT, b"local", file_name="l.txt"))
            assert update.message is not None
            assert update.message.document is not None
            file = await bot.get_file(update.message.document.file_id)
            assert file.file_path is not None
            assert file.file_path.startswith("/")
            downloaded = await bot.download_file(file.file_path)
            assert downloaded is not None
            assert downloaded.read() == b"local"
        finally:
            await bot.session.close()


async def test_a_photo_must_be_an_image(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_photo(CHAT, BufferedInputFile(_png(100, 50), filename="chart.png"))
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (100, 50)
    assert fake.sent_messages(CHAT)[0].kind == "photo"
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(CHAT, BufferedInputFile(b"not an image", filename="x.png"))


async def test_a_voice_note_can_be_sent(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_voice(CHAT, BufferedInputFile(b"OggS", filename="voice.ogg"))
    assert sent.voice is not None
    assert sent.voice.mime_type == "audio/ogg"
    assert fake.sent_messages(CHAT)[0].file == b"OggS"


async def test_a_known_file_id_can_be_sent_again(bot: Bot, fake: FakeTelegram) -> None:
    first = await bot.send_document(CHAT, BufferedInputFile(b"abc", filename="a.txt"))
    assert first.document is not None
    again = await bot.send_document(CHAT, first.document.file_id)
    assert again.document is not None
    assert again.document.file_id == first.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(CHAT, "no-such-file-id")


# --- The HTTP surface other clients see ----------------------------------------------


async def test_json_bodies_unknown_methods_and_bad_tokens(fake: FakeTelegram) -> None:
    fake.add_chat(CHAT)
    async with aiohttp.ClientSession() as http:
        url = f"{fake.base_url}/bot{fake.token}"
        async with http.post(f"{url}/SENDMESSAGE", json={"chat_id": CHAT, "text": "hi"}) as sent:
            body = await sent.json()
            assert sent.status == 200
            assert body["ok"] is True
            assert body["result"]["text"] == "hi"
        async with http.post(f"{url}/sendRichMessage", json={}) as missing:
            assert missing.status == 404
            assert await missing.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with http.get(f"{fake.base_url}/bot1:wrong/getMe") as refused:
            assert refused.status == 401
            assert (await refused.json())["description"] == "Unauthorized"
        fake.inject_429("getMe", retry_after=7)
        async with http.get(f"{url}/getMe") as flooded:
            assert flooded.status == 429
            assert await flooded.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            }
    assert [call.method for call in fake.calls] == ["SENDMESSAGE", "getMe"]


async def test_wait_for_messages_returns_once_the_bot_has_sent(
    bot: Bot, fake: FakeTelegram
) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(CHAT, "eventually")

    task = asyncio.create_task(send_later())
    (message,) = await fake.wait_for_messages(CHAT, timeout=2)
    await task
    assert message.text == "eventually"


async def test_stopping_answers_a_waiting_long_poll(bot: Bot, fake: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.2)
    await asyncio.wait_for(fake.stop(), 3)
    assert await asyncio.wait_for(poll, 1) == []


# --- How parse modes read (pure) -------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        (
            "```python\nprint(1)\n```",
            "print(1)",
            [{"type": "pre", "offset": 0, "length": 8, "language": "python"}],
        ),
        (
            ">quoted\n>more\nafter",
            "quoted\nmore\nafter",
            [{"type": "blockquote", "offset": 0, "length": 11}],
        ),
        (
            "**>hidden\n>long||",
            "hidden\nlong",
            [{"type": "expandable_blockquote", "offset": 0, "length": 11}],
        ),
        (
            "__u__ ||s|| ~x~",
            "u s x",
            [
                {"type": "underline", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 2, "length": 1},
                {"type": "strikethrough", "offset": 4, "length": 1},
            ],
        ),
        (
            "*bold _both_*",
            "bold both",
            [
                {"type": "bold", "offset": 0, "length": 9},
                {"type": "italic", "offset": 5, "length": 4},
            ],
        ),
        (
            "[a](https://x.y/\\(1\\))",
            "a",
            [{"type": "text_link", "offset": 0, "length": 1, "url": "https://x.y/(1)"}],
        ),
        ("😀 *b*", "😀 b", [{"type": "bold", "offset": 3, "length": 1}]),
        ("a\\b \\_", "ab _", []),
    ],
)
def test_markdown_v2_reads_like_telegram(
    source: str, text: str, entities: list[dict[str, Any]]
) -> None:
    assert parse_markdown_v2(source) == (text, entities)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a-b", "Character '-' is reserved"),
        ("*a _b* c_", "Can't find end of the entity starting at byte offset 3"),
        ("`code", "Can't find end of the entity starting at byte offset 0"),
    ],
)
def test_markdown_v2_refuses_what_telegram_refuses(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as refused:
        parse_markdown_v2(source)
    assert refused.value.description.startswith("Bad Request: can't parse entities: ")
    assert error in refused.value.description


def test_html_refuses_unsupported_and_unclosed_tags() -> None:
    with pytest.raises(EntityParseError, match='Unsupported start tag "div"'):
        parse_html("<div>x</div>")
    with pytest.raises(EntityParseError, match="Can't find end tag"):
        parse_html("<b>x")
    assert parse_html("a &lt; b &amp; <i>c</i>") == (
        "a < b & c",
        [{"type": "italic", "offset": 8, "length": 1}],
    )


async def test_an_aiogram_dispatcher_polls_and_answers(bot: Bot, fake: FakeTelegram) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    try:
        fake.push_text(CHAT, "ping")
        (reply,) = await fake.wait_for_messages(CHAT, timeout=10)
        assert reply.text == "echo: ping"
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, 5)
