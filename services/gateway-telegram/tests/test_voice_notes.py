"""Voice notes: transcribed before publishing, a clear reply when voice is off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.testing.fake_speech import TRANSCRIBE_PATH, FakeSpeech
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits
from praktor_common.testing.nats import NatsTestServer
from praktor_gateway_telegram import replies
from praktor_gateway_telegram.testing import OWNER, Gateway, running_gateway

pytestmark = pytest.mark.integration

AUDIO = b"OggS\x00fake-opus-audio"


@pytest_asyncio.fixture
async def services(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext, migrated_engine: AsyncEngine
) -> AsyncIterator[tuple[NatsTestServer, JetStreamContext, AsyncEngine]]:
    yield nats_clients, fresh_streams, migrated_engine


@pytest_asyncio.fixture
async def gateway(
    services: tuple[NatsTestServer, JetStreamContext, AsyncEngine], fake_speech: FakeSpeech
) -> AsyncIterator[Gateway]:
    async with (
        FakeTelegram(rate_limits=RateLimits.off()) as fake,
        running_gateway(*services, fake, fake_speech) as running,
    ):
        yield running


async def test_a_voice_note_is_published_as_its_transcript(
    gateway: Gateway, fake_speech: FakeSpeech
) -> None:
    fake_speech.transcripts[AUDIO] = "@coder remind me at five"
    gateway.fake.push_voice(OWNER, AUDIO)
    await gateway.poller().poll_once(timeout=0)

    [message] = await gateway.inbound()
    assert message.voice_transcript == "@coder remind me at five"
    assert message.attachments == []  # the audio is not kept
    [request] = fake_speech.requests_to(TRANSCRIBE_PATH)
    assert request.file == AUDIO
    assert (request.file_name, request.file_type) == ("voice.ogg", "audio/ogg")
    assert request.fields == {"model": "whisper-1", "response_format": "text"}
    assert gateway.published[0].voice_transcript is not None


async def test_when_transcription_fails_the_note_is_passed_on_as_a_file(
    gateway: Gateway, fake_speech: FakeSpeech
) -> None:
    fake_speech.inject_error(TRANSCRIBE_PATH, 500, "The server had an error")
    gateway.fake.push_voice(OWNER, AUDIO)
    await gateway.poller().poll_once(timeout=0)

    [message] = await gateway.inbound()
    assert message.voice_transcript is None
    [audio] = message.attachments
    assert (audio.kind, audio.name) == ("voice", "voice.ogg")
    assert await gateway.file(audio.key) == AUDIO


async def test_silence_gets_a_reply_and_nothing_is_published(
    gateway: Gateway, fake_speech: FakeSpeech
) -> None:
    fake_speech.transcripts[AUDIO] = "   "
    gateway.fake.push_voice(OWNER, AUDIO)
    await gateway.poller().poll_once(timeout=0)
    assert await gateway.inbound() == []
    [reply] = gateway.fake.sent_messages(OWNER)
    assert reply.text == replies.VOICE_NOT_UNDERSTOOD


async def test_without_speech_configured_a_voice_note_gets_a_clear_reply(
    services: tuple[NatsTestServer, JetStreamContext, AsyncEngine],
) -> None:
    async with (
        FakeTelegram(rate_limits=RateLimits.off()) as fake,
        running_gateway(*services, fake) as gateway,
    ):
        fake.push_voice(OWNER, AUDIO)
        await gateway.poller().poll_once(timeout=0)
        assert await gateway.inbound() == []
        [reply] = fake.sent_messages(OWNER)
        assert "speech.api_key" in reply.text
