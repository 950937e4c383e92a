"""Replies from ``deliver.telegram.<chat>`` shown in Telegram (issue 5, delivery side).

The service wires it with :func:`register`; everything else is here:

* :mod:`.compose` — a delivery's Markdown (attribution, warning line), rendered and chunked;
* :mod:`.replies` — placeholder first, then edits, recorded in ``telegram_replies``
  (:mod:`.records`), so a crash never shows a text twice;
* :mod:`.stream` — streamed answers as a draft or one growing message, throttled;
* :mod:`.pacing` / :mod:`.sender` — Telegram's flood limits and answers (429, refused
  entities, "not modified");
* :mod:`.chat_action` — the typing indicator;
* :mod:`.files` — files from the object store as photo or document;
* :mod:`.voice` — spoken replies (spec §12.3);
* :mod:`.deliverer` — one delivery, by kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from faststream.nats.annotations import NatsMessage

from praktor_common import streams
from praktor_common.bus import durable_subscriber
from praktor_common.contracts.deliver import Delivery
from praktor_gateway_telegram.delivery.deliverer import TelegramDelivery, bot_commands
from praktor_gateway_telegram.delivery.files import FileSource, ObjectStoreFiles
from praktor_gateway_telegram.delivery.pacing import Limits
from praktor_gateway_telegram.delivery.voice import Synthesize, VoiceTurns

if TYPE_CHECKING:
    from aiogram import Bot

    from praktor_common.runtime.spec import ServiceContext

SERVICE_NAME = "gateway-telegram"
IN_PROGRESS_EVERY = 10.0
"""Seconds between "still working" signals while a delivery waits (flood control)."""


async def register(
    ctx: ServiceContext,
    bot: Bot,
    *,
    synthesize: Synthesize | None = None,
    files: FileSource | None = None,
    limits: Limits | None = None,
    drafts: bool = True,
) -> TelegramDelivery:
    """Deliver ``deliver.telegram.>`` with ``bot``; call from the service's setup.

    Declares the service's durable consumer on the DELIVER stream (one per
    partition, so each chat's deliveries are handled in order), subscribes
    the handler on ``ctx.broker`` (call before the broker starts), registers
    the bot menu with ``setMyCommands`` and stops streams and typing
    indicators on shutdown (``ctx.on_stop``). Needs ``ctx.engine``.

    * ``synthesize``: text → OGG/Opus for spoken replies
      (:func:`praktor_gateway_telegram.speech.synthesize`); ``None``: never speak.
    * ``files``: where agents' files are read; default: the NATS object store on ``ctx.js``.
    * ``limits``: flood-control pacing (default: Telegram's documented limits).
    * ``drafts``: stream into ``sendMessageDraft`` in private chats (falls back
      to edits by itself where the Bot API refuses drafts).

    The inbound side uses the returned object for two things:
    ``delivery.typing.start(chat_id)`` when a person's message went to an agent
    (the typing indicator until the answer), and
    ``delivery.voice_turns.mark(msg_id)`` when that message was a voice note
    (``speech.tts_mode: voice``).
    """
    if ctx.engine is None:
        raise RuntimeError("gateway-telegram delivery needs the database (telegram_replies)")
    delivery = TelegramDelivery(
        bot=bot,
        engine=ctx.engine,
        config=lambda: ctx.config.current,
        files=files if files is not None else ObjectStoreFiles(ctx.js),
        synthesize=synthesize,
        limits=limits,
        drafts=drafts,
    )
    await streams.ensure_consumers(ctx.js, SERVICE_NAME)
    consumer = next(
        c for c in streams.durable_consumers(SERVICE_NAME) if c.stream == streams.DELIVER
    )

    @durable_subscriber(ctx.broker, consumer, in_progress_every=IN_PROGRESS_EVERY)
    async def on_delivery(body: Delivery, msg: NatsMessage) -> None:
        await delivery.handle(body)

    await delivery.register_commands()
    ctx.on_stop.append(delivery.close)
    return delivery


__all__ = [
    "FileSource",
    "Limits",
    "ObjectStoreFiles",
    "Synthesize",
    "TelegramDelivery",
    "VoiceTurns",
    "bot_commands",
    "register",
]
