"""Fixtures of the delivery tests: a fake Bot API, a real aiogram Bot, a migrated database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from praktor_common.db import make_engine
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_gateway_telegram.delivery.testing import GROUP, PRIVATE, Harness


@pytest.fixture
def fake_limits() -> RateLimits:
    """The fake's flood control (off unless a test asks for it)."""
    return RateLimits.off()


@pytest_asyncio.fixture
async def harness(migrated_database_url: str, fake_limits: RateLimits) -> AsyncIterator[Harness]:
    engine = make_engine(migrated_database_url)
    async with FakeTelegram(rate_limits=fake_limits) as fake:
        for chat in (PRIVATE, GROUP):
            fake.add_chat(chat)
            fake.push_text(chat, "hello")  # message 1, the one replies answer
        bot = Bot(
            fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        )
        running = Harness(fake, bot, engine)
        try:
            yield running
        finally:
            for made in running.made:
                with contextlib.suppress(Exception):
                    await made.close()
            await bot.session.close()
            await engine.dispose()
