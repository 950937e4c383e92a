"""The OpenAI-compatible speech client against the local fake of the API."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from praktor_common.config.model import SpeechConfig
from praktor_common.testing.fake_speech import SPEECH_PATH, TRANSCRIBE_PATH, FakeSpeech
from praktor_gateway_telegram.speech import (
    SpeechClient,
    SpeechError,
    SpeechNotConfiguredError,
    SpeechSettings,
    synthesize,
    transcribe,
)


def settings_for(fake: FakeSpeech, **changes: object) -> SpeechSettings:
    config = SpeechConfig(api_key=SecretStr(fake.api_key), base_url=fake.base_url, tts_voice="nova")
    return SpeechSettings.from_config(config.model_copy(update=changes))


async def test_transcribe_sends_the_file_and_returns_the_trimmed_text(
    fake_speech: FakeSpeech,
) -> None:
    fake_speech.transcripts[b"audio"] = "hello world"
    client = SpeechClient(settings_for(fake_speech))
    assert await client.transcribe(b"audio", "voice.ogg", "audio/ogg") == "hello world"
    [request] = fake_speech.requests_to(TRANSCRIBE_PATH)
    assert request.headers["Authorization"] == f"Bearer {fake_speech.api_key}"


async def test_synthesize_asks_for_opus_in_the_configured_voice(fake_speech: FakeSpeech) -> None:
    audio = await synthesize("All done.", settings=settings_for(fake_speech))
    assert audio.startswith(b"OggS")
    assert b"All done." in audio
    [request] = fake_speech.requests_to(SPEECH_PATH)
    assert request.fields == {
        "model": "tts-1",
        "voice": "nova",
        "input": "All done.",
        "response_format": "opus",
    }


async def test_other_model_names_can_be_configured(fake_speech: FakeSpeech) -> None:
    settings = settings_for(fake_speech, stt_model="whisper-large-v3", tts_model="kokoro")
    await transcribe(b"a", "voice.ogg", "audio/ogg", settings=settings)
    await synthesize("x", settings=settings)
    assert fake_speech.requests_to(TRANSCRIBE_PATH)[0].fields["model"] == "whisper-large-v3"
    assert fake_speech.requests_to(SPEECH_PATH)[0].fields["model"] == "kokoro"


async def test_an_error_answer_raises_with_the_status_and_the_body(fake_speech: FakeSpeech) -> None:
    fake_speech.inject_error(SPEECH_PATH, 429, "Rate limit reached for requests")
    with pytest.raises(SpeechError) as caught:
        await synthesize("x", settings=settings_for(fake_speech))
    assert caught.value.status == 429
    assert "Rate limit reached" in caught.value.body


async def test_a_wrong_key_is_refused(fake_speech: FakeSpeech) -> None:
    settings = SpeechSettings(api_key="sk-wrong", base_url=fake_speech.base_url)
    with pytest.raises(SpeechError, match="HTTP 401"):
        await transcribe(b"a", "voice.ogg", "audio/ogg", settings=settings)


async def test_without_a_key_nothing_is_sent(fake_speech: FakeSpeech) -> None:
    settings = SpeechSettings(api_key="", base_url=fake_speech.base_url)
    assert not SpeechClient(settings).enabled
    with pytest.raises(SpeechNotConfiguredError, match=r"speech\.api_key"):
        await synthesize("x", settings=settings)
    assert fake_speech.requests == []
