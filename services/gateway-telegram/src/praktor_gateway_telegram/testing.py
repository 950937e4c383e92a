"""Test helpers: the inbound side wired to a fake Bot API, a real NATS and PostgreSQL.

Used by the ``test_inbound_*``, ``test_polling_*``, ``test_voice_*`` and
``test_album_*`` tests: everything is the production code except the Bot API
and the speech API, which are the local fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common import streams
from praktor_common.bus import make_broker
from praktor_common.config.model import PraktorConfig
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.filestore import TELEGRAM_LEASE_BUCKET, files_bucket
from praktor_common.testing.fake_speech import FakeSpeech
from praktor_common.testing.fake_telegram import FakeTelegram
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_gateway_telegram.albums import AlbumWatch
from praktor_gateway_telegram.inbound import InboundHandler
from praktor_gateway_telegram.lease import LEASE_KEY, PollerLease
from praktor_gateway_telegram.polling import Poller
from praktor_gateway_telegram.reply_authors import ReplyAuthors
from praktor_gateway_telegram.senders import SenderStore

OWNER = 42
"""A user in ``allow_from`` (private chat 42)."""
STRANGER = 777


def make_config(
    fake: FakeTelegram, speech: FakeSpeech | None = None, **telegram: Any
) -> PraktorConfig:
    values: dict[str, Any] = {
        "token": fake.token,
        "allow_from": [OWNER],
        "api_base_url": fake.base_url,
        **telegram,
    }
    config: dict[str, Any] = {"timezone": "UTC", "telegram": values}
    if speech is not None:
        config["speech"] = {"api_key": speech.api_key, "base_url": speech.base_url}
    return PraktorConfig.model_validate(config)


@dataclass
class Gateway:
    """The inbound side of one gateway replica."""

    fake: FakeTelegram
    bot: Bot
    broker: NatsBroker
    js: JetStreamContext
    admin: JetStreamContext
    store: SenderStore
    config: PraktorConfig
    handler: InboundHandler
    published: list[InboundMessage] = field(default_factory=list)

    def current(self) -> PraktorConfig:
        return self.config

    def poller(self, holder: str = "replica-a", **kwargs: Any) -> Poller:
        lease = PollerLease(self._lease_kv, holder)
        return Poller(self.bot, self.handler.handle, lease, tell=self.handler.say, **kwargs)

    async def inbound(self) -> list[InboundMessage]:
        """Every inbound message stored in the INBOUND stream, in order."""
        state = (await self.admin.stream_info(streams.INBOUND)).state
        found: list[InboundMessage] = []
        if state.messages == 0:
            return found
        for seq in range(max(state.first_seq, 1), state.last_seq + 1):
            with contextlib.suppress(NotFoundError):
                msg = await self.admin.get_msg(streams.INBOUND, seq)
                found.append(InboundMessage.model_validate_json(msg.data or b""))
        return found

    async def wait_inbound(self, count: int, within: float = 10.0) -> list[InboundMessage]:
        async def enough() -> bool:
            return len(await self.inbound()) >= count

        await wait_until(enough, within=within, every=0.05)
        return await self.inbound()

    async def file(self, key: str) -> bytes:
        objects = await files_bucket(self.admin)
        result = await objects.get(key)
        return result.data or b""

    _lease_kv: Any = None


@contextlib.asynccontextmanager
async def running_gateway(
    server: NatsTestServer,
    admin: JetStreamContext,
    engine: AsyncEngine,
    fake: FakeTelegram,
    speech: FakeSpeech | None = None,
    **telegram: Any,
) -> AsyncIterator[Gateway]:
    """A connected inbound side (not polling: tests run a :class:`Poller` themselves)."""
    broker = make_broker(server.settings("gateway-telegram"), "gateway-telegram")
    client = await broker.connect()
    js = client.jetstream()
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    store = SenderStore(engine)
    objects = await files_bucket(js)
    gateway: Gateway
    handler = InboundHandler(
        bot,
        broker,
        objects,
        store,
        lambda: gateway.config,
        on_published=lambda m: gateway.published.append(m),
        reply_authors=ReplyAuthors(engine),
    )
    gateway = Gateway(
        fake, bot, broker, js, admin, store, make_config(fake, speech, **telegram), handler
    )
    kv = await PollerLease.open(js, "setup")
    with contextlib.suppress(Exception):
        await kv.kv.purge(LEASE_KEY)
    gateway._lease_kv = kv.kv
    try:
        yield gateway
    finally:
        await bot.session.close()
        await broker.stop()


async def run_poller(poller: Poller) -> asyncio.Task[None]:
    """Start ``poller`` in the background; cancel the task to stop it."""
    task = asyncio.create_task(poller.run())
    async with asyncio.timeout(10):
        await poller.polling.wait()
    return task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = [
    "OWNER",
    "STRANGER",
    "TELEGRAM_LEASE_BUCKET",
    "AlbumWatch",
    "Gateway",
    "make_config",
    "run_poller",
    "running_gateway",
    "stop",
]
