"""Albums end to end: one inbound message per album, even across getUpdates batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer
from praktor_gateway_telegram.albums import AlbumWatch
from praktor_gateway_telegram.testing import OWNER, Gateway, running_gateway

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


async def test_an_album_in_one_batch_is_one_inbound_message(gateway: Gateway) -> None:
    parts = gateway.fake.push_album(
        OWNER, [("photo", b"\x89PNG-1"), ("document", b"two")], caption="holiday"
    )
    gateway.fake.push_text(OWNER, "what do you think?")
    await gateway.poller().poll_once(timeout=0)

    album, question = await gateway.inbound()
    media_group = parts[0]["message"]["media_group_id"]
    assert album.dedupe_id == f"telegram:album:{media_group}"
    assert album.media_group_id == media_group
    assert album.caption == "holiday"
    assert [a.kind for a in album.attachments] == ["photo", "document"]
    assert [await gateway.file(a.key) for a in album.attachments] == [b"\x89PNG-1", b"two"]
    assert question.text == "what do you think?"


async def test_an_album_cut_by_the_end_of_a_batch_waits_for_its_last_part(
    gateway: Gateway,
) -> None:
    fake = gateway.fake
    poller = gateway.poller(watch=AlbumWatch(quiet_period=0.6))
    parts = fake.push_album(OWNER, [("photo", b"\x89PNG-a"), ("photo", b"\x89PNG-b")])
    assert await poller.poll_once(timeout=0)  # held: more parts may come
    assert await gateway.inbound() == []
    assert poller.offset == parts[0]["update_id"]

    # The third part arrives with the album's id (Telegram sends parts one by one).
    group = parts[0]["message"]["media_group_id"]
    fake.push_photo(OWNER, b"\x89PNG-c", media_group_id=group)
    assert await poller.poll_once(timeout=0)
    await asyncio.sleep(0.7)
    assert not await poller.poll_once(timeout=0)

    [album] = await gateway.inbound()
    assert len(album.attachments) == 3
    await poller.poll_once(timeout=0)
    assert fake.pending_updates == 0
