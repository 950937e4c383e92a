"""Staying within Telegram's flood limits before Telegram has to say so.

Telegram allows about one message a second in one chat, 20 a minute in a
group and 30 a second for the whole bot, and answers more with 429 and
``retry_after``. :class:`Pacing` keeps a token bucket for each of those and
makes a send wait for its turn; :meth:`Pacing.hold` stops a chat (or the bot)
for the ``retry_after`` Telegram asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """``count`` sends per ``seconds``, with bursts of up to ``burst``."""

    count: float
    seconds: float
    burst: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class Limits:
    """The budgets sends are paced to (``None``: no limit of that kind)."""

    per_chat: Rate | None = Rate(1, 1.0, 2)
    per_group: Rate | None = Rate(20, 60.0, 10)
    per_bot: Rate | None = Rate(25, 1.0, 25)
    stream_interval_private: float = 1.0
    """Least time between two updates of a streamed answer in a private chat."""
    stream_interval_group: float = 3.0
    """The same in a group (20 messages a minute are shared by everything)."""
    draft_interval: float = 0.5
    """Least time between two drafts (drafts do not count as messages)."""

    @classmethod
    def off(cls) -> Limits:
        """No pacing at all (tests of other things)."""
        return cls(
            per_chat=None,
            per_group=None,
            per_bot=None,
            stream_interval_private=0.0,
            stream_interval_group=0.0,
            draft_interval=0.0,
        )

    def stream_interval(self, chat_id: int) -> float:
        return self.stream_interval_group if is_group(chat_id) else self.stream_interval_private


def is_group(chat_id: int) -> bool:
    """Group and channel ids are negative; a private chat's id is the person's id."""
    return chat_id < 0


class _Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now
        self.blocked_until = 0.0

    def wait(self, now: float) -> float:
        self.tokens = min(
            self.rate.burst, self.tokens + (now - self.updated) * self.rate.per_second
        )
        self.updated = now
        refill = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate.per_second
        return max(refill, self.blocked_until - now)


class Pacing:
    """Token buckets per chat, per group and for the bot."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._held: dict[int | None, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, chat_id: int) -> None:
        """Wait until one more send to ``chat_id`` stays within every limit, then take it."""
        while True:
            async with self._lock:
                now = self._clock()
                buckets = self._for(chat_id, now)
                held = max(self._held.get(chat_id, 0.0), self._held.get(None, 0.0)) - now
                wait = max([held, *(b.wait(now) for b in buckets)], default=0.0)
                if wait <= 0:
                    for bucket in buckets:
                        bucket.tokens -= 1
                    return
            await asyncio.sleep(wait)

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """Send nothing to ``chat_id`` (None: to any chat) for ``seconds`` (a 429's retry_after)."""
        until = self._clock() + seconds
        self._held[chat_id] = max(self._held.get(chat_id, 0.0), until)

    def _for(self, chat_id: int, now: float) -> list[_Bucket]:
        wanted: list[tuple[tuple[str, int], Rate]] = []
        if self.limits.per_chat is not None:
            wanted.append((("chat", chat_id), self.limits.per_chat))
        if self.limits.per_group is not None and is_group(chat_id):
            wanted.append((("group", chat_id), self.limits.per_group))
        if self.limits.per_bot is not None:
            wanted.append((("bot", 0), self.limits.per_bot))
        return [self._buckets.setdefault(key, _Bucket(rate, now)) for key, rate in wanted]
