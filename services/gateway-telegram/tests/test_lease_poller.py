"""One poller at a time: the lease in NATS KV, take-over when the holder stops or vanishes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.filestore import TELEGRAM_LEASE_BUCKET
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer, wait_until
from praktor_gateway_telegram.lease import LEASE_TTL, PollerLease
from praktor_gateway_telegram.testing import OWNER, Gateway, run_poller, running_gateway, stop

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def gateway(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext, migrated_engine: AsyncEngine
) -> AsyncIterator[Gateway]:
    async with (
        FakeTelegram(rate_limits=RateLimits.off()) as fake,
        running_gateway(nats_clients, fresh_streams, migrated_engine, fake) as running,
    ):
        yield running


async def test_only_one_holder_at_a_time(gateway: Gateway) -> None:
    a = PollerLease(gateway._lease_kv, "a")
    b = PollerLease(gateway._lease_kv, "b")
    assert await a.acquire()
    assert not await b.acquire()
    assert await a.holder_now() == "a"
    assert await a.renew()
    await a.release()
    assert await b.acquire()
    assert await b.holder_now() == "b"
    await b.release()


async def test_a_holder_that_lost_its_lease_finds_out_at_its_next_renewal(
    gateway: Gateway,
) -> None:
    a = PollerLease(gateway._lease_kv, "a")
    b = PollerLease(gateway._lease_kv, "b")
    assert await a.acquire()
    await gateway._lease_kv.purge("poller")  # as if the TTL ran out while a was cut off
    assert await b.acquire()
    assert not await a.renew()
    assert not a.held
    await a.release()  # releasing a lost lease leaves the new holder alone
    assert await b.holder_now() == "b"
    await b.release()


async def test_a_lease_not_renewed_expires_so_another_replica_can_take_it(
    gateway: Gateway,
) -> None:
    stream = f"KV_{TELEGRAM_LEASE_BUCKET}"
    config = (await gateway.admin.stream_info(stream)).config
    config.max_age = config.duplicate_window = 1.0  # the TTL, short so the test need not wait
    await gateway.admin.update_stream(config)
    try:
        crashed = PollerLease(gateway._lease_kv, "crashed")
        other = PollerLease(gateway._lease_kv, "other")
        assert await crashed.acquire()
        assert not await other.acquire()
        await wait_until(other.acquire, within=10, every=0.25)
        assert await other.holder_now() == "other"
        await other.release()
    finally:
        config.max_age = config.duplicate_window = LEASE_TTL.total_seconds()
        await gateway.admin.update_stream(config)


async def test_two_replicas_poll_one_at_a_time_and_the_second_takes_over(
    gateway: Gateway,
) -> None:
    first = gateway.poller("replica-a", poll_timeout=1)
    second = gateway.poller("replica-b", poll_timeout=1)
    first.lease.ttl = second.lease.ttl = timedelta(seconds=1.5)
    running_first = await run_poller(first)
    running_second = asyncio.create_task(second.run())
    try:
        gateway.fake.push_text(OWNER, "one")
        await gateway.wait_inbound(1)
        assert first.polling.is_set()
        assert not second.polling.is_set()

        await stop(running_first)  # a clean stop releases the lease
        await wait_until(second.polling.is_set, within=10)
        gateway.fake.push_text(OWNER, "two")
        found = await gateway.wait_inbound(2)
        assert [m.text for m in found] == ["one", "two"]
    finally:
        await stop(running_first)
        await stop(running_second)
