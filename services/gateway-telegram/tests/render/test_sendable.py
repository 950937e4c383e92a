"""Rendered, split replies are accepted by the Bot API as they are (through the fake)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import MessageEntity

from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_gateway_telegram.render import (
    FormattedText,
    plain_fallback,
    render_markdown,
    split_message,
)

CHAT = 4242

_REPLY = """# Report

Checked **12 files** in `src/` — all fine 😀. See [the docs](https://example.com/docs).

| File | Lines |
|------|------:|
| a.py | 120 |
| bé.py | 7 |

> Note: *nothing* changed since _yesterday_.

```python
def main() -> None:
    print("hi")  # **not bold**
```

- one 👨‍👩‍👧
- two ~~old~~ new
"""


@pytest_asyncio.fixture
async def fake_and_bot() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    async with FakeTelegram(rate_limits=RateLimits.off()) as fake:
        fake.add_chat(CHAT)
        api = TelegramAPIServer.from_base(fake.base_url)
        bot = Bot(fake.token, session=AiohttpSession(api=api))
        yield fake, bot
        await bot.session.close()


async def _send(bot: Bot, piece: FormattedText) -> None:
    entities = [MessageEntity(**e.to_bot_api()) for e in piece.entities]
    await bot.send_message(CHAT, piece.text, entities=entities or None)


async def test_a_long_rendered_reply_is_sent_piece_by_piece(
    fake_and_bot: tuple[FakeTelegram, Bot],
) -> None:
    fake, bot = fake_and_bot
    pieces = split_message(render_markdown(_REPLY * 40))
    assert len(pieces) > 1
    for piece in pieces:
        await _send(bot, piece)
    stored = fake.sent_messages(CHAT)
    assert [m.text for m in stored] == [p.text for p in pieces]
    assert [list(m.entities) for m in stored] == [
        [e.to_bot_api() for e in p.entities] for p in pieces
    ]


async def test_the_plain_fallback_is_accepted_too(fake_and_bot: tuple[FakeTelegram, Bot]) -> None:
    fake, bot = fake_and_bot
    for piece in split_message(render_markdown(_REPLY * 10)):
        await _send(bot, plain_fallback(piece))
    assert all(m.entities == () for m in fake.sent_messages(CHAT))
    assert "the docs (https://example.com/docs)" in fake.sent_messages(CHAT)[0].text
