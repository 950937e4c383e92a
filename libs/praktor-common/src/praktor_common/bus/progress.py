"""Keeping long work alive: ``in_progress`` while a handler runs past the ack wait."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from faststream.nats.message import NatsMessage

log = structlog.get_logger(__name__)

_INTERVALS: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()


def set_in_progress_interval(subscriber: object, every: float) -> None:
    """Heartbeat every ``every`` seconds while this subscriber's handler runs."""
    if every <= 0:
        raise ValueError("the in_progress interval must be positive")
    _INTERVALS[subscriber] = every


def in_progress_interval(subscriber: object) -> float | None:
    return _INTERVALS.get(subscriber)


@asynccontextmanager
async def keep_in_progress(message: NatsMessage, every: float = 10.0) -> AsyncIterator[None]:
    """Tell the server every ``every`` seconds that ``message`` is still being worked on.

    ``async with keep_in_progress(msg): await long_work()`` — choose an interval
    well below the consumer's ack wait (30 s for service consumers, 60 s for
    agents'). The heartbeat stops when the block ends, however it ends.
    """
    task = asyncio.create_task(_beat(message, every))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _beat(message: NatsMessage, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await message.in_progress()
        except Exception as exc:  # connection gone: the ack wait decides what happens
            log.warning("in_progress failed", error_type=type(exc).__name__)
