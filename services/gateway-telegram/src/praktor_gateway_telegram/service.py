"""The gateway-telegram service: how it is wired and started.

Inbound: long-polls the Bot API (:mod:`.polling`; one replica at a time,
:mod:`.lease`), checks who wrote (:mod:`.access`, :mod:`.senders`), copies
files into the object store (:mod:`.files`), transcribes voice notes
(:mod:`.speech`) and publishes one inbound message per message or album
(:mod:`.inbound`). Outbound: replies from ``deliver.telegram`` (:mod:`.delivery`).
Also answers the owner's sender commands (:mod:`.commands`).

Without ``telegram.token`` the service reports itself disabled: it is ready,
answers the sender commands, and polls nothing (``praktor doctor`` says how to
set a token). The token and ``telegram.api_base_url`` are read at start; a
change of ``allow_from`` or ``speech`` applies to the next message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

import structlog
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from nats.js.object_store import ObjectStore

from praktor_common.config import ConfigDiff, PraktorConfig
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.filestore import files_bucket
from praktor_common.ids import new_id
from praktor_common.runtime.runner import StartupError
from praktor_common.runtime.runner import main as run_service
from praktor_common.runtime.spec import ServiceContext, ServiceSpec
from praktor_gateway_telegram import commands, delivery
from praktor_gateway_telegram.inbound import InboundHandler
from praktor_gateway_telegram.lease import PollerLease
from praktor_gateway_telegram.polling import Poller
from praktor_gateway_telegram.reply_authors import ReplyAuthors
from praktor_gateway_telegram.senders import SenderStore
from praktor_gateway_telegram.speech import SpeechSettings, synthesize

log = structlog.get_logger(__name__)

RESTART_KEYS = ("telegram.token", "telegram.api_base_url")


def make_bot(token: str, api_base_url: str) -> Bot:
    """An aiogram bot on the configured Bot API server.

    Files are downloaded over HTTP; a local Bot API server (``--local``) answers
    absolute paths instead, which :func:`.files.download` reads from disk.
    """
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base_url, is_local=False))
    return Bot(token, session=session)


def holder_name() -> str:
    """Names this replica in the lease (host, pid and a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{new_id()[-8:]}"


async def setup(ctx: ServiceContext) -> None:
    if ctx.engine is None:  # pragma: no cover - uses_database guarantees it
        raise StartupError("gateway-telegram needs its database (telegram_senders)")
    store = SenderStore(ctx.engine)
    commands.register(ctx.broker, store)
    telegram = ctx.config.current.telegram
    if not telegram.enabled:
        ctx.health.info["telegram"] = "disabled: no telegram.token (see `praktor doctor`)"
        log.warning("telegram is disabled: set telegram.token in the config and restart")
        return
    ctx.health.info["telegram"] = "enabled"
    bot = make_bot(telegram.token.get_secret_value(), str(telegram.api_base_url))
    ctx.on_stop.append(bot.session.close)

    async def speak(text: str) -> bytes:
        return await synthesize(
            text, settings=SpeechSettings.from_config(ctx.config.current.speech)
        )

    outbound = await delivery.register(ctx, bot, synthesize=speak)
    objects: ObjectStore = await files_bucket(ctx.js)

    def published(message: InboundMessage) -> None:
        outbound.typing.start(int(message.origin.chat_id))
        if message.voice_transcript is not None:
            outbound.voice_turns.mark(message.msg_id)

    handler = InboundHandler(
        bot,
        ctx.broker,
        objects,
        store,
        lambda: ctx.config.current,
        on_published=published,
        reply_authors=ReplyAuthors(ctx.engine),
    )
    lease = await PollerLease.open(ctx.js, holder_name())
    poller = Poller(bot, handler.handle, lease, tell=handler.say)

    async def warn_restart(_old: PraktorConfig, _new: PraktorConfig, diff: ConfigDiff) -> None:
        changed = sorted(k for k in diff.changed_keys if k in RESTART_KEYS)
        if changed:
            log.warning("restart gateway-telegram to apply", keys=changed)

    ctx.config.on_change(warn_restart)
    task = asyncio.create_task(poller.run(), name="telegram-poller")

    async def stop_polling() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    ctx.on_stop.append(stop_polling)

    async def poller_alive() -> None:
        if task.done():
            raise RuntimeError("the Telegram poller stopped; see the logs")

    ctx.health.add_check("telegram-poller", poller_alive)


SERVICE = ServiceSpec(
    name="gateway-telegram",
    description="Telegram ingress and egress",
    setup=setup,
    default_health_port=9101,
)


def main() -> None:
    run_service(SERVICE)
