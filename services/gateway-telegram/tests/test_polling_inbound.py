"""Polling end to end: fake Bot API → aiogram → JetStream; the offset waits for the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common import streams
from praktor_common.bus.publish import NATS_MSG_ID
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer
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


async def test_a_text_is_published_with_its_update_id_as_message_id(gateway: Gateway) -> None:
    update = gateway.fake.push_text(OWNER, "hello agent")
    poller = gateway.poller()
    await poller.poll_once(timeout=0)

    [message] = await gateway.inbound()
    assert message.text == "hello agent"
    assert message.dedupe_id == f"telegram:{update['update_id']}"
    assert (message.origin.channel, message.origin.chat_id) == ("telegram", str(OWNER))
    assert message.origin.user_id == str(OWNER)
    assert message.origin.message_id == str(update["message"]["message_id"])
    stored = await gateway.admin.get_msg(streams.INBOUND, 1)
    assert stored.headers is not None
    assert stored.headers[NATS_MSG_ID] == message.dedupe_id
    assert (stored.subject or "").startswith(f"inbound.telegram.{OWNER}.")
    assert poller.offset == update["update_id"] + 1


async def test_the_offset_waits_until_jetstream_accepted_the_update(gateway: Gateway) -> None:
    await gateway.admin.delete_stream(streams.INBOUND)  # the bus cannot take inbound messages
    update = gateway.fake.push_text(OWNER, "do not lose me")
    poller = gateway.poller()
    await poller.poll_once(timeout=0)
    assert poller.offset == update["update_id"]  # the next getUpdates asks for it again
    await poller.poll_once(timeout=0)
    assert gateway.fake.pending_updates == 1  # Telegram still holds it

    await streams.ensure_streams(gateway.admin)
    await poller.poll_once(timeout=0)
    [message] = await gateway.inbound()
    assert message.text == "do not lose me"
    await poller.poll_once(timeout=0)
    assert gateway.fake.pending_updates == 0


async def test_fetching_the_same_update_again_publishes_it_once(gateway: Gateway) -> None:
    gateway.fake.push_text(OWNER, "once")
    first = gateway.poller()
    await first.poll_once(timeout=0)
    assert gateway.fake.pending_updates == 1  # confirmed only by the next getUpdates
    second = gateway.poller("replica-b")  # a replica taking over before that confirm
    await second.poll_once(timeout=0)
    assert len(gateway.published) == 2  # published twice ...
    assert [m.text for m in await gateway.inbound()] == ["once"]  # ... stored once


async def test_channel_posts_unknown_updates_and_huge_texts_do_not_stop_polling(
    gateway: Gateway,
) -> None:
    fake = gateway.fake
    fake.push_channel_post(-1001234567, "a channel post has no sender")
    fake.push_update({"poll": {"id": "1", "question": "?", "options": []}})
    fake.push_update({"something_telegram_adds_later": {"x": 1}})
    fake.push_text(OWNER, "y" * 200_000)
    fake.push_text(OWNER, "still here")
    poller = gateway.poller()
    await poller.poll_once(timeout=0)

    messages = await gateway.inbound()
    assert [m.text[:1] for m in messages] == ["y", "s"]
    assert "characters long]" in messages[0].text
    assert messages[1].text == "still here"
    await poller.poll_once(timeout=0)
    assert fake.pending_updates == 0


async def test_a_photo_and_a_document_travel_through_the_object_store(gateway: Gateway) -> None:
    fake = gateway.fake
    first = fake.push_text(OWNER, "see below")
    fake.push_photo(OWNER, b"\x89PNG-image-bytes", caption="my cat")
    fake.push_document(
        OWNER,
        b"secret plans",
        file_name="../../etc/passwd",
        reply_to=first["message"]["message_id"],
    )
    await gateway.poller().poll_once(timeout=0)

    _, photo, document = await gateway.inbound()
    [picture] = photo.attachments
    assert (picture.kind, picture.name, picture.mime_type) == ("photo", "photo.jpg", "image/jpeg")
    assert photo.caption == "my cat"
    assert photo.text == ""
    assert await gateway.file(picture.key) == b"\x89PNG-image-bytes"
    [doc] = document.attachments
    assert doc.name == "passwd"
    assert doc.size == len(b"secret plans")
    assert ".." not in doc.key.split("/")
    assert await gateway.file(doc.key) == b"secret plans"
    assert document.reply_to is not None
    assert document.reply_to.message_id == str(first["message"]["message_id"])
    assert document.reply_to.text == "see below"


async def test_a_file_over_20_mb_gets_a_clear_reply_and_is_not_published(
    gateway: Gateway,
) -> None:
    fake = gateway.fake
    fake.push_document(OWNER, b"x" * (20 * 1024 * 1024 + 1), file_name="movie.mkv")
    await gateway.poller().poll_once(timeout=0)

    assert await gateway.inbound() == []
    [reply] = fake.sent_messages(OWNER)
    assert "movie.mkv" in reply.text
    assert "20 MB" in reply.text


async def test_flood_control_on_get_updates_is_waited_out(gateway: Gateway) -> None:
    gateway.fake.inject_429("getUpdates", retry_after=1)
    gateway.fake.push_text(OWNER, "after the wait")
    poller = gateway.poller()
    await poller.poll_once(timeout=0)
    assert await gateway.inbound() == []
    await poller.poll_once(timeout=0)
    assert [m.text for m in await gateway.inbound()] == ["after the wait"]
