"""Long answers streamed into one growing message, within Telegram's limits.

Each ``text`` delivery is a snapshot of the whole answer so far (highest
``seq`` wins). Snapshots are not shown one by one: the newest waits until the
chat's stream interval has passed since the last update, then is shown —
as a draft (``sendMessageDraft``) in a private chat where the Bot API offers
it, otherwise by editing the recorded reply message (placeholder + edits, see
:mod:`.replies`). The final answer ends the stream: a waiting snapshot is
dropped and the final text replaces the draft or the streamed message.

Snapshots are best effort: one that cannot be shown is logged and skipped
(the final answer is what must arrive, and it is delivered by the consumer).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from praktor_gateway_telegram.delivery.pacing import Limits, is_group
from praktor_gateway_telegram.delivery.sender import (
    DeliveryError,
    FloodedError,
    RefusedError,
    TelegramSender,
)
from praktor_gateway_telegram.render import FormattedText

log = structlog.get_logger(__name__)

FINISHED_KEPT = 2000
"""Finished replies remembered so a late snapshot is not shown again."""

Show = Callable[[str, int, list[FormattedText], int | None], Awaitable[None]]
"""Edits the recorded reply: (key, chat id, chunks, reply_to)."""
ChatLock = Callable[[int], asyncio.Lock]


def draft_id(key: str) -> int:
    """A stable, non-zero draft id for a reply."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % 2_000_000_000 + 1


@dataclass
class _Stream:
    chat_id: int
    seq: int = -1
    chunks: list[FormattedText] = field(default_factory=list)
    reply_to: int | None = None
    shown_at: float = float("-inf")
    task: asyncio.Task[None] | None = None
    showing: bool = False


class Streams:
    """The answers being streamed, one per reply key."""

    def __init__(
        self,
        sender: TelegramSender,
        show: Show,
        lock_for: ChatLock,
        limits: Limits,
        *,
        drafts: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sender = sender
        self._show = show
        self._lock_for = lock_for
        self._limits = limits
        self._drafts = drafts
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._no_drafts: set[int] = set()

    def uses_draft(self, chat_id: int) -> bool:
        """True when this chat's stream is shown as a draft, not as an edited message."""
        return self._drafts and not is_group(chat_id) and chat_id not in self._no_drafts

    def offer(
        self, key: str, chat_id: int, seq: int, chunks: list[FormattedText], reply_to: int | None
    ) -> None:
        """A new snapshot; shown when the chat's interval allows (older ones are dropped)."""
        if key in self._finished or not chunks:
            return
        stream = self._streams.setdefault(key, _Stream(chat_id))
        if seq < stream.seq:
            return
        stream.seq, stream.chunks, stream.reply_to = seq, chunks, reply_to
        if stream.task is None or stream.task.done():
            stream.task = asyncio.create_task(self._flush(key, stream), name=f"stream-{key}")

    async def finish(self, key: str) -> bool:
        """End the stream of ``key`` before its final text is shown; True if one ran."""
        self._finished[key] = None
        while len(self._finished) > FINISHED_KEPT:
            self._finished.popitem(last=False)
        stream = self._streams.pop(key, None)
        if stream is None:
            return False
        if stream.task is not None:
            if not stream.showing:
                stream.task.cancel()
            await asyncio.gather(stream.task, return_exceptions=True)
        return True

    async def close(self) -> None:
        for key in list(self._streams):
            await self.finish(key)

    async def _flush(self, key: str, stream: _Stream) -> None:
        chat_id = stream.chat_id
        shown_seq = -2
        while key not in self._finished and shown_seq != stream.seq:
            drafting = self.uses_draft(chat_id)
            interval = (
                self._limits.draft_interval if drafting else self._limits.stream_interval(chat_id)
            )
            wait = stream.shown_at + interval - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._lock_for(chat_id):
                if key in self._finished:
                    return
                stream.showing = True
                shown_seq = stream.seq
                try:
                    await self._show_now(key, stream, drafting)
                except FloodedError as error:
                    log.info("stream paused by flood control", chat_id=chat_id, error=str(error))
                    shown_seq = -2
                except DeliveryError as error:
                    log.warning("streamed text not shown", chat_id=chat_id, reason=error.reason)
                    return
                except Exception:
                    log.exception("streamed text not shown", chat_id=chat_id)
                    return
                finally:
                    stream.showing = False
                    stream.shown_at = self._clock()

    async def _show_now(self, key: str, stream: _Stream, drafting: bool) -> None:
        if drafting:
            try:
                await self._sender.draft(stream.chat_id, draft_id(key), stream.chunks[-1])
                return
            except RefusedError as error:
                log.info(
                    "drafts not available; streaming by edits",
                    chat_id=stream.chat_id,
                    reason=error.reason,
                )
                self._no_drafts.add(stream.chat_id)
        await self._show(key, stream.chat_id, stream.chunks, stream.reply_to)
