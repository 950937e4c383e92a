"""One poller at a time: a lease in a NATS KV bucket.

Telegram allows one ``getUpdates`` caller per bot (a second one makes the
first fail with 409), so replicas of the gateway take turns: the holder of
the key ``poller`` in :data:`~praktor_common.filestore.TELEGRAM_LEASE_BUCKET`
polls, the others wait to take over. The bucket's TTL makes a lease vanish
when its holder stops renewing it (crashed, cut off); the holder renews it
every third of the TTL with a compare-and-set on the revision it wrote, so a
holder that lost the lease finds out at its next renewal and stops polling.
A holder that stops cleanly deletes the key, so the next replica takes over
at once.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import nats.errors
import nats.js.errors

from praktor_common.filestore import TELEGRAM_LEASE_BUCKET, lease_bucket

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from nats.js.kv import KeyValue

LEASE_KEY: Final = "poller"
LEASE_TTL: Final = timedelta(seconds=15)


class PollerLease:
    """The lease of one would-be poller (``holder`` names it, e.g. host and pid)."""

    def __init__(self, kv: KeyValue, holder: str, ttl: timedelta = LEASE_TTL) -> None:
        self.kv = kv
        self.holder = holder
        self.ttl = ttl
        self._revision: int | None = None

    @classmethod
    async def open(
        cls, js: JetStreamContext, holder: str, ttl: timedelta = LEASE_TTL
    ) -> PollerLease:
        """The lease on the bucket (created when missing, with ``ttl``)."""
        return cls(await lease_bucket(js, TELEGRAM_LEASE_BUCKET, ttl), holder, ttl)

    @property
    def held(self) -> bool:
        return self._revision is not None

    @property
    def renew_every(self) -> float:
        return self.ttl.total_seconds() / 3

    async def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this holder has it now."""
        if self._revision is not None:
            return await self.renew()
        try:
            self._revision = await self.kv.create(LEASE_KEY, self.holder.encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        return True

    async def renew(self) -> bool:
        """Keep the lease; False (and not held any more) when someone else has it."""
        if self._revision is None:
            return False
        try:
            self._revision = await self.kv.update(
                LEASE_KEY, self.holder.encode(), last=self._revision
            )
        except (nats.js.errors.Error, nats.errors.Error):
            self._revision = None
            return False
        return True

    async def release(self) -> None:
        """Give the lease up (only if still ours), so another replica takes over now."""
        revision, self._revision = self._revision, None
        if revision is None:
            return
        with contextlib.suppress(nats.js.errors.Error, nats.errors.Error):
            await self.kv.delete(LEASE_KEY, last=revision)

    async def holder_now(self) -> str | None:
        """Who holds the lease now, if anyone."""
        try:
            entry = await self.kv.get(LEASE_KEY)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return None
        return entry.value.decode() if entry.value else None
