"""Which updates of a getUpdates batch become which inbound messages (no I/O).

Telegram sends an album as one message per file, sharing a
``media_group_id``. Praktor publishes one inbound message per album (spec
§11.5), so a batch is cut into :class:`Unit` s: a single message, or all the
parts of an album seen so far.

An album's parts usually arrive in one batch. When a batch *may* end in the
middle of an album — no later message of that chat follows its last part,
and a new part was seen less than :data:`QUIET_PERIOD` ago — the album is
held: it is not published yet, and the polling offset stays at its first
part, so the next getUpdates returns the album again (with any new parts).
Once the quiet period passed with no new part, the album is complete.
Fetching the same updates again is safe: publishing is deduplicated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from praktor_gateway_telegram.updates import Incoming

QUIET_PERIOD: Final = 1.0
"""Seconds without a new part after which an album counts as complete."""
FORGET_AFTER: Final = 300.0
"""Albums not seen for this long are dropped from :class:`AlbumWatch`."""


@dataclass(frozen=True)
class Unit:
    """One inbound message to publish: a single message, or an album's parts in order."""

    parts: tuple[Incoming, ...]

    @property
    def first(self) -> Incoming:
        return self.parts[0]

    @property
    def is_album(self) -> bool:
        return self.first.media_group_id is not None

    @property
    def dedupe_id(self) -> str:
        """``Nats-Msg-Id``: ``telegram:<update_id>``, or ``telegram:album:<media_group_id>``."""
        if self.first.media_group_id is not None:
            return f"telegram:album:{self.first.media_group_id}"
        return f"telegram:{self.first.update_id}"


@dataclass(frozen=True)
class Plan:
    """What to do with one batch."""

    units: tuple[Unit, ...]
    """Units to publish now, in the order of their first update."""
    next_offset: int | None
    """The getUpdates offset once every unit is published; ``None`` = the batch was empty."""
    holding: bool
    """True when an album was held back (poll again soon, without a long wait)."""


@dataclass
class AlbumWatch:
    """When each album last grew; the one piece of state kept between batches."""

    clock: Callable[[], float] = time.monotonic
    quiet_period: float = QUIET_PERIOD
    _seen: dict[str, tuple[int, float]] = field(default_factory=dict)

    def quiet(self, media_group_id: str, parts: int) -> bool:
        """Note that ``parts`` parts are known; True when none was added for the quiet period."""
        now = self.clock()
        known = self._seen.get(media_group_id)
        if known is None or parts > known[0]:
            self._seen[media_group_id] = (parts, now)
            return self.quiet_period <= 0
        return now - known[1] >= self.quiet_period

    def done(self, media_group_id: str) -> None:
        self._seen.pop(media_group_id, None)

    def prune(self) -> None:
        now = self.clock()
        for key in [k for k, (_, at) in self._seen.items() if now - at > FORGET_AFTER]:
            del self._seen[key]


def plan_batch(batch: Sequence[tuple[int, Incoming | None]], watch: AlbumWatch) -> Plan:
    """Cut ``batch`` (each update's id and its message, ``None`` when skipped) into units."""
    if not batch:
        return Plan((), None, False)
    watch.prune()
    messages = [m for _, m in batch if m is not None]
    albums: dict[tuple[int, str], list[Incoming]] = {}
    order: list[tuple[int, Unit | tuple[int, str]]] = []
    for message in messages:
        if message.media_group_id is None:
            order.append((message.update_id, Unit((message,))))
            continue
        key = (message.chat_id, message.media_group_id)
        if key not in albums:
            albums[key] = []
            order.append((message.update_id, key))
        albums[key].append(message)
    held_from: int | None = None
    units: list[Unit] = []
    for first_update, entry in order:
        if isinstance(entry, Unit):
            units.append(entry)
            continue
        parts = albums[entry]
        if _may_continue(parts, messages) and not watch.quiet(entry[1], len(parts)):
            held_from = first_update if held_from is None else min(held_from, first_update)
            continue
        units.append(Unit(tuple(parts)))
    last = max(update_id for update_id, _ in batch)
    next_offset = held_from if held_from is not None else last + 1
    return Plan(tuple(units), next_offset, held_from is not None)


def _may_continue(parts: list[Incoming], messages: list[Incoming]) -> bool:
    """True unless a later message of the same chat follows the album's last part."""
    last = parts[-1]
    return not any(
        m.chat_id == last.chat_id
        and m.update_id > last.update_id
        and m.media_group_id != last.media_group_id
        for m in messages
    )
