"""Access through the whole inbound side: allow_from, approvals, the daily notice, live changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer
from praktor_gateway_telegram.senders import SenderStore
from praktor_gateway_telegram.testing import OWNER, STRANGER, Gateway, make_config, running_gateway

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


async def test_an_unknown_sender_is_told_their_id_kept_pending_and_not_published(
    gateway: Gateway,
) -> None:
    gateway.fake.add_chat(STRANGER, username="mallory")
    gateway.fake.push_text(STRANGER, "let me in")
    await gateway.poller().poll_once(timeout=0)

    assert await gateway.inbound() == []
    [reply] = gateway.fake.sent_messages(STRANGER)
    assert str(STRANGER) in reply.text
    assert f"praktor telegram approve {STRANGER}" in reply.text
    [pending] = await gateway.store.listing("pending")
    assert (pending.user_id, pending.username) == (STRANGER, "mallory")


async def test_the_notice_is_sent_at_most_once_a_day(gateway: Gateway) -> None:
    for text in ("one", "two", "three"):
        gateway.fake.push_text(STRANGER, text)
    await gateway.poller().poll_once(timeout=0)
    assert len(gateway.fake.sent_messages(STRANGER)) == 1

    store = gateway.store
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert await store.refused(STRANGER, None, "Stranger", now=tomorrow)
    assert not await store.refused(STRANGER, None, "Stranger", now=tomorrow)


async def test_an_approved_sender_is_published_from_the_next_message_on(gateway: Gateway) -> None:
    gateway.fake.push_text(STRANGER, "hello?")
    poller = gateway.poller()
    await poller.poll_once(timeout=0)
    assert await gateway.store.decide(STRANGER, "approved")  # they had written before

    gateway.fake.push_text(STRANGER, "hello again")
    await poller.poll_once(timeout=0)
    assert [m.text for m in await gateway.inbound()] == ["hello again"]
    assert await gateway.store.listing("pending") == []


async def test_a_denied_sender_is_refused_silently(gateway: Gateway) -> None:
    assert not await gateway.store.decide(STRANGER, "denied")  # never wrote
    gateway.fake.push_text(STRANGER, "hi")
    await gateway.poller().poll_once(timeout=0)
    assert await gateway.inbound() == []
    assert gateway.fake.sent_messages(STRANGER) == []


async def test_an_empty_allow_list_allows_nobody(gateway: Gateway) -> None:
    gateway.config = make_config(gateway.fake, allow_from=[])
    gateway.fake.push_text(OWNER, "it is me")
    await gateway.poller().poll_once(timeout=0)
    assert await gateway.inbound() == []
    assert len(gateway.fake.sent_messages(OWNER)) == 1


async def test_a_change_of_allow_from_applies_to_the_next_message(gateway: Gateway) -> None:
    poller = gateway.poller()
    gateway.fake.push_text(STRANGER, "first")
    await poller.poll_once(timeout=0)
    gateway.config = make_config(gateway.fake, allow_from=[OWNER, STRANGER])
    gateway.fake.push_text(STRANGER, "second")
    await poller.poll_once(timeout=0)
    assert [m.text for m in await gateway.inbound()] == ["second"]


async def test_in_a_group_the_sender_not_the_chat_is_checked(gateway: Gateway) -> None:
    group = -100777
    gateway.fake.push_text(group, "from the owner", user_id=OWNER)
    gateway.fake.push_text(group, "from a stranger", user_id=STRANGER)
    await gateway.poller().poll_once(timeout=0)
    [message] = await gateway.inbound()
    assert message.text == "from the owner"
    assert message.origin.chat_id == str(group)


async def test_listing_shows_senders_by_status(migrated_engine: AsyncEngine) -> None:
    store = SenderStore(migrated_engine)
    await store.refused(1, "a", "A")
    await store.refused(2, None, "B")
    await store.decide(2, "approved")
    assert [s.user_id for s in await store.listing("pending")] == [1]
    assert [s.user_id for s in await store.listing("approved")] == [2]
    assert {s.user_id for s in await store.listing(None)} == {1, 2}
    assert await store.status(2) == "approved"
    assert await store.status(3) is None
