"""Downloading a person's file with the service's own bot, from any Bot API server.

A cloud-like server (``api.telegram.org``, the fake, a self-hosted server
without ``--local``) answers a relative ``file_path`` to fetch over HTTP; a
local server (``--local``) answers an absolute path on its own disk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from praktor_common.testing.fake_telegram import FakeTelegram
from praktor_gateway_telegram.files import FileUnavailableError, download
from praktor_gateway_telegram.service import make_bot
from praktor_gateway_telegram.updates import FileToFetch

CONTENT = b"a shopping list: apples, pears\n"


def document(fake: FakeTelegram) -> FileToFetch:
    raw = fake.push_document(42, CONTENT, file_name="list.txt")
    doc = raw["message"]["document"]
    return FileToFetch(doc["file_id"], "list.txt", "text/plain", len(CONTENT), "document")


@pytest_asyncio.fixture(params=[False, True], ids=["http", "local"])
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(local_mode=request.param) as running:
        yield running


async def test_a_file_is_downloaded_from_any_bot_api_server(fake: FakeTelegram) -> None:
    bot = make_bot(fake.token, fake.base_url)
    try:
        assert await download(bot, document(fake)) == CONTENT
    finally:
        await bot.session.close()


async def test_a_local_servers_file_this_host_cannot_read_is_reported() -> None:
    async with FakeTelegram(local_mode=True) as fake:
        wanted = document(fake)
        bot = make_bot(fake.token, fake.base_url)
        try:
            fake_file = await bot.get_file(wanted.file_id)
            assert fake_file.file_path is not None
            await asyncio.to_thread(Path(fake_file.file_path).unlink)
            with pytest.raises(FileUnavailableError):
                await download(bot, wanted)
        finally:
            await bot.session.close()
