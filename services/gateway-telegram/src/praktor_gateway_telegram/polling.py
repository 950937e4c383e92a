"""Long polling: fetch updates, publish them, and only then move the offset on.

The offset (``getUpdates?offset=``) confirms updates to Telegram. It moves
past an update only after that update was dealt with — published and
acknowledged by JetStream, or deliberately dropped — so a crash, a lost
lease or a bus outage makes Telegram hand the same updates out again, and
the stream's duplicate window (``Nats-Msg-Id``) drops what was published
already. Albums may hold the offset back for a moment (:mod:`.albums`).

Only the holder of the :class:`~praktor_gateway_telegram.lease.PollerLease`
polls. Telegram errors never end the loop: flood control waits
``retry_after``, a conflict (another poller, a webhook) or a network error
backs off and tries again. A unit that fails three times for a reason that is
not the bus (a bug, an update this code cannot digest) is skipped and its
sender is told, so one bad update cannot block everyone behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

import nats.errors
import nats.js.errors
import sqlalchemy.exc
import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.types import Update

from praktor_common.bus.publish import PublishError
from praktor_gateway_telegram import replies
from praktor_gateway_telegram.albums import AlbumWatch, Unit, plan_batch
from praktor_gateway_telegram.lease import PollerLease
from praktor_gateway_telegram.updates import Incoming, read_update

log = structlog.get_logger(__name__)

ALLOWED_UPDATES: Final = ["message", "edited_message", "channel_post"]
"""What is asked for; only ``message`` is passed on, the rest is read and skipped."""
POLL_TIMEOUT: Final = 10
"""Seconds a getUpdates call waits for new updates."""
HOLD_PAUSE: Final = 0.2
"""Pause before fetching a held album again."""
MAX_BACKOFF: Final = 30.0
MAX_ATTEMPTS: Final = 3

Handle = Callable[[Unit], Awaitable[object]]
Retryable: Final = (
    PublishError,
    nats.errors.Error,
    nats.js.errors.Error,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    TelegramNetworkError,
    OSError,
    TimeoutError,
)
"""Failures of what the gateway depends on: try the same update again later, forever."""


def safe_read(update: Update) -> Incoming | None:
    """:func:`read_update` that never raises (an odd update is skipped)."""
    try:
        return read_update(update)
    except Exception:
        log.exception("update skipped: it could not be read", update_id=update.update_id)
        return None


class Poller:
    """Polls while it holds the lease; see the module docstring."""

    def __init__(
        self,
        bot: Bot,
        handle: Handle,
        lease: PollerLease,
        *,
        watch: AlbumWatch | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        tell: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.handle = handle
        self.lease = lease
        self.watch = watch or AlbumWatch()
        self.poll_timeout = poll_timeout
        self.tell = tell
        self.offset: int | None = None
        self.polling = asyncio.Event()
        """Set while this replica holds the lease and polls."""
        self._failures: dict[str, int] = {}
        self._backoff = 0.5

    async def run(self) -> None:
        """Take the lease when free, poll while holding it; until cancelled."""
        try:
            while True:
                if await self.lease.acquire():
                    log.info("poller lease taken; polling", holder=self.lease.holder)
                    await self._while_held()
                    log.warning("poller lease lost; another replica polls now")
                await asyncio.sleep(self.lease.renew_every)
        finally:
            self.polling.clear()
            await self.lease.release()

    async def _while_held(self) -> None:
        self.offset = None
        self.polling.set()
        poll = asyncio.create_task(self._poll_forever())
        try:
            while True:
                done, _ = await asyncio.wait({poll}, timeout=self.lease.renew_every)
                if done:
                    poll.result()  # a bug in the loop: let it surface
                if not await self.lease.renew():
                    return
        finally:
            self.polling.clear()
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poll

    async def _poll_forever(self) -> None:
        with contextlib.suppress(TelegramAPIError):
            await self.bot.delete_webhook(drop_pending_updates=False)
        while True:
            holding = await self.poll_once()
            if holding:
                await asyncio.sleep(HOLD_PAUSE)

    async def poll_once(self, timeout: int | None = None) -> bool:
        """One getUpdates round; True when an album is held back (poll again soon)."""
        wait = self.poll_timeout if timeout is None else timeout
        try:
            updates = await self.bot.get_updates(
                offset=self.offset,
                timeout=wait,
                allowed_updates=ALLOWED_UPDATES,
                request_timeout=wait + 10,
            )
        except TelegramRetryAfter as exc:
            log.warning("flood control on getUpdates", retry_after=exc.retry_after)
            await asyncio.sleep(exc.retry_after)
            return False
        except (TelegramAPIError, TelegramNetworkError, OSError, TimeoutError) as exc:
            await self._back_off("getUpdates failed", exc)
            return False
        plan = plan_batch([(u.update_id, safe_read(u)) for u in updates], self.watch)
        for unit in plan.units:
            if not await self._deal_with(unit):
                if plan.next_offset is not None:
                    self.offset = min(plan.next_offset, unit.first.update_id)
                return False
            if unit.is_album and unit.first.media_group_id is not None:
                self.watch.done(unit.first.media_group_id)
        if plan.next_offset is not None:
            self.offset = plan.next_offset
        self._backoff = 0.5
        return plan.holding

    async def _deal_with(self, unit: Unit) -> bool:
        """True when the unit is done with (the offset may pass it)."""
        try:
            await self.handle(unit)
        except Retryable as exc:
            await self._back_off("publishing waits for the bus", exc)
            return False
        except Exception:
            attempts = self._failures.get(unit.dedupe_id, 0) + 1
            self._failures[unit.dedupe_id] = attempts
            log.exception("update failed", dedupe_id=unit.dedupe_id, attempt=attempts)
            if attempts < MAX_ATTEMPTS:
                await self._back_off("update failed", None)
                return False
            log.error("update skipped after repeated failures", dedupe_id=unit.dedupe_id)
            if self.tell is not None:
                await self.tell(unit.first.chat_id, replies.COULD_NOT_PROCESS)
        self._failures.pop(unit.dedupe_id, None)
        return True

    async def _back_off(self, what: str, exc: BaseException | None) -> None:
        log.warning(what, error=type(exc).__name__ if exc else None, retry_in=self._backoff)
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, MAX_BACKOFF)
