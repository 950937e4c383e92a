"""An OpenAI-compatible speech client: voice notes to text, replies to voice (spec §12.3).

``POST {base_url}/audio/transcriptions`` (multipart ``file``, ``model``,
``response_format=text``; the language is detected) and
``POST {base_url}/audio/speech`` (JSON ``model``, ``voice``, ``input``,
``response_format=opus``: OGG/Opus bytes Telegram plays as a voice note),
``Authorization: Bearer <api_key>``, 30 s timeout. A non-2xx answer raises
:class:`SpeechError` with the status and the start of the body.

Two ways to call it, same shapes::

    client = SpeechClient(SpeechSettings.from_config(config.speech))
    text = await client.transcribe(audio, "voice.ogg", "audio/ogg")
    audio = await client.synthesize("Done.")

    text = await transcribe(audio, "voice.ogg", "audio/ogg", settings=settings)
    audio = await synthesize("Done.", settings=settings)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import aiohttp

from praktor_common.config.model import SpeechConfig

TIMEOUT: Final = 30.0
ERROR_BODY_BYTES: Final = 512


class SpeechError(RuntimeError):
    """The speech API refused or failed."""

    def __init__(self, what: str, status: int, body: str) -> None:
        super().__init__(f"{what} failed with HTTP {status}: {body}")
        self.status = status
        self.body = body


class SpeechNotConfiguredError(RuntimeError):
    """No API key: voice is off."""

    def __init__(self) -> None:
        super().__init__(
            "voice is not set up: set speech.api_key in the Praktor config "
            "(and speech.base_url for a server other than OpenAI)"
        )


@dataclass(frozen=True)
class SpeechSettings:
    """Where the speech API is and how to use it."""

    api_key: str
    base_url: str = "https://api.openai.com/v1"
    voice: str = "alloy"
    transcription_model: str = "whisper-1"
    speech_model: str = "tts-1"
    timeout: float = TIMEOUT

    @classmethod
    def from_config(cls, config: SpeechConfig) -> SpeechSettings:
        return cls(
            api_key=config.api_key.get_secret_value(),
            base_url=str(config.base_url),
            voice=config.tts_voice,
            transcription_model=config.stt_model,
            speech_model=config.tts_model,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path}"


class SpeechClient:
    """:func:`transcribe` and :func:`synthesize` bound to one :class:`SpeechSettings`."""

    def __init__(self, settings: SpeechSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def transcribe(self, audio: bytes, filename: str, mime: str) -> str:
        return await transcribe(audio, filename, mime, settings=self.settings)

    async def synthesize(self, text: str) -> bytes:
        return await synthesize(text, settings=self.settings)


def _session(settings: SpeechSettings) -> aiohttp.ClientSession:
    if not settings.enabled:
        raise SpeechNotConfiguredError
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=settings.timeout),
        headers={"Authorization": f"Bearer {settings.api_key}"},
    )


async def _failure(what: str, response: aiohttp.ClientResponse) -> SpeechError:
    body = (await response.content.read(ERROR_BODY_BYTES)).decode("utf-8", errors="replace")
    return SpeechError(what, response.status, body)


async def transcribe(audio: bytes, filename: str, mime: str, *, settings: SpeechSettings) -> str:
    """The text spoken in ``audio`` (trimmed; may be empty when nothing was said)."""
    form = aiohttp.FormData()
    form.add_field("file", audio, filename=filename, content_type=mime)
    form.add_field("model", settings.transcription_model)
    form.add_field("response_format", "text")
    async with (
        _session(settings) as session,
        session.post(settings.url("audio/transcriptions"), data=form) as response,
    ):
        if response.status // 100 != 2:
            raise await _failure("transcription", response)
        return (await response.text()).strip()


async def synthesize(text: str, *, settings: SpeechSettings) -> bytes:
    """``text`` spoken, as OGG/Opus bytes (send it as a Telegram voice note)."""
    body = {
        "model": settings.speech_model,
        "voice": settings.voice,
        "input": text,
        "response_format": "opus",
    }
    async with (
        _session(settings) as session,
        session.post(settings.url("audio/speech"), json=body) as response,
    ):
        if response.status // 100 != 2:
            raise await _failure("speech", response)
        return await response.read()
