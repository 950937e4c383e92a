"""The typing indicator while an agent works on a chat's message.

Telegram shows a chat action for about five seconds, or until the bot sends a
message. :class:`ChatActions` repeats ``typing`` every few seconds from
:meth:`~ChatActions.start` (a turn opened: a message went to an agent, or the
first streamed text arrived) until :meth:`~ChatActions.stop` (the final
answer, an error) or, at the latest, ``max_duration`` after the last start.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from praktor_gateway_telegram.delivery.sender import TelegramSender

log = structlog.get_logger(__name__)

REFRESH_EVERY = 4.0
"""Seconds between two ``typing`` actions (Telegram shows one for ~5 s)."""
MAX_DURATION = 600.0
"""Seconds after the last start at which the indicator stops by itself."""


class ChatActions:
    """One repeating chat action per chat."""

    def __init__(
        self,
        sender: TelegramSender,
        *,
        refresh_every: float = REFRESH_EVERY,
        max_duration: float = MAX_DURATION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sender = sender
        self._refresh = refresh_every
        self._max = max_duration
        self._clock = clock
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._started: dict[int, float] = {}
        self._actions: dict[int, str] = {}

    def start(self, chat_id: int, action: str = "typing") -> None:
        """Show ``action`` in ``chat_id`` until :meth:`stop` (restarting the time limit)."""
        self._started[chat_id] = self._clock()
        self._actions[chat_id] = action
        task = self._tasks.get(chat_id)
        if task is None or task.done():
            self._tasks[chat_id] = asyncio.create_task(
                self._run(chat_id), name=f"chat-action-{chat_id}"
            )

    def active(self, chat_id: int) -> bool:
        task = self._tasks.get(chat_id)
        return task is not None and not task.done()

    async def stop(self, chat_id: int) -> None:
        """Stop the indicator in ``chat_id`` (nothing happens when none runs)."""
        task = self._tasks.pop(chat_id, None)
        self._started.pop(chat_id, None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for chat_id in list(self._tasks):
            await self.stop(chat_id)

    async def _run(self, chat_id: int) -> None:
        while self._clock() - self._started.get(chat_id, 0.0) < self._max:
            try:
                await self._sender.chat_action(chat_id, self._actions.get(chat_id, "typing"))
            except Exception as error:  # an indicator is never worth failing a reply
                log.info("chat action failed", chat_id=chat_id, error=str(error))
            await asyncio.sleep(self._refresh)
        self._tasks.pop(chat_id, None)
