"""A local fake of an OpenAI-compatible speech API, for tests and end-to-end runs.

Serves ``POST {base}/audio/transcriptions`` (multipart: ``file``, ``model``,
optional ``response_format`` json | text | verbose_json, ``language``,
``prompt``) and ``POST {base}/audio/speech`` (JSON: ``model``, ``input``,
``voice``, optional ``response_format`` mp3 | opus | aac | flac | wav | pcm),
with the real answers and OpenAI's error shape
(``{"error": {"message", "type", "param", "code"}}``; 401 for a wrong key).
``base_url`` ends in ``/v1``, as a configured ``speech.base_url`` does::

    async with FakeSpeech() as fake:
        fake.transcripts[b"...ogg bytes..."] = "remind me at five"
        ... point the client at fake.base_url with fake.api_key ...
        assert fake.requests[0].path == "/v1/audio/transcriptions"

A transcription answers ``transcripts[audio]`` when set, else
:attr:`default_transcript`. Speech answers deterministic bytes starting with
the format's magic (``OggS`` for opus) and containing the input text, so a
test can tell which text was spoken. ``inject_error`` makes the next calls
fail.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

import pytest_asyncio
from aiohttp import web
from aiohttp.web_request import FileField

DEFAULT_KEY: Final = "sk-fake-speech-key"
TRANSCRIBE_PATH: Final = "/v1/audio/transcriptions"
SPEECH_PATH: Final = "/v1/audio/speech"
_FORMATS: Final = {
    "mp3": ("audio/mpeg", b"ID3"),
    "opus": ("audio/ogg", b"OggS"),
    "aac": ("audio/aac", b"\xff\xf1"),
    "flac": ("audio/flac", b"fLaC"),
    "wav": ("audio/wav", b"RIFF"),
    "pcm": ("audio/pcm", b""),
}
_VOICES: Final = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer",
     "verse", "marin", "cedar"}
)  # fmt: skip


@dataclass(frozen=True)
class SpeechRequest:
    """One request the fake received."""

    path: str
    headers: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)
    """Form fields (transcription) or JSON members (speech), as text."""
    file: bytes | None = None
    file_name: str | None = None
    file_type: str | None = None


class _ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code

    def response(self) -> web.Response:
        body = {"error": {"message": self.message, "type": self.kind, "param": None,
                          "code": self.code}}  # fmt: skip
        return web.json_response(body, status=self.status)


def _invalid(message: str) -> _ApiError:
    return _ApiError(400, message, "invalid_request_error")


class FakeSpeech:
    """The speech endpoints on a local port. See the module docstring."""

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        self.api_key = api_key
        self.transcripts: dict[bytes, str] = {}
        self.default_transcript = "hello from a voice note"
        self.requests: list[SpeechRequest] = []
        self._injected: dict[str, deque[_ApiError]] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=26 * 1024 * 1024)
        app.router.add_post(TRANSCRIBE_PATH, self._transcribe)
        app.router.add_post(SPEECH_PATH, self._speech)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}/v1"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test controls ---------------------------------------------------------

    def inject_error(self, path: str, status: int, message: str, times: int = 1) -> None:
        """Make the next ``times`` requests to ``path`` (e.g. ``/v1/audio/speech``) fail."""
        kind = "server_error" if status >= 500 else "invalid_request_error"
        for _ in range(times):
            self._injected.setdefault(path, deque()).append(_ApiError(status, message, kind))

    def requests_to(self, path: str) -> list[SpeechRequest]:
        return [r for r in self.requests if r.path == path]

    # -- HTTP ------------------------------------------------------------------

    def _check(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if auth != f"Bearer {self.api_key}":
            raise _ApiError(
                401,
                "Incorrect API key provided. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        injected = self._injected.get(request.path)
        if injected:
            raise injected.popleft()

    async def _transcribe(self, request: web.Request) -> web.Response:
        try:
            form = await request.post()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            upload = form.get("file")
            data = upload.file.read() if isinstance(upload, FileField) else None
            self.requests.append(
                SpeechRequest(
                    request.path,
                    dict(request.headers),
                    fields,
                    data,
                    upload.filename if isinstance(upload, FileField) else None,
                    upload.content_type if isinstance(upload, FileField) else None,
                )
            )
            self._check(request)
            if data is None:
                raise _invalid("Could not parse multipart form: 'file' is required")
            if not fields.get("model"):
                raise _invalid("you must provide a model parameter")
            if not data:
                raise _invalid("Audio file is too short. Minimum audio length is 0.1 seconds.")
            text = self.transcripts.get(data, self.default_transcript)
            kind = fields.get("response_format", "json")
            if kind == "text":
                return web.Response(text=text + "\n", content_type="text/plain")
            if kind == "json":
                return web.json_response({"text": text})
            if kind == "verbose_json":
                return web.json_response(
                    {"task": "transcribe", "language": "english", "duration": 1.0, "text": text}
                )
            raise _invalid(f"response_format {kind!r} is not supported")
        except _ApiError as error:
            return error.response()

    async def _speech(self, request: web.Request) -> web.Response:
        try:
            raw = await request.read()
            try:
                body: dict[str, Any] = json.loads(raw)
            except ValueError:
                body = {}
            self.requests.append(
                SpeechRequest(
                    request.path, dict(request.headers), {k: str(v) for k, v in body.items()}
                )
            )
            self._check(request)
            for name in ("model", "input", "voice"):
                if not body.get(name):
                    raise _invalid(f"you must provide a {name} parameter")
            if body["voice"] not in _VOICES:
                raise _invalid(f"voice {body['voice']!r} is not supported")
            if len(str(body["input"])) > 4096:
                raise _invalid("input is longer than 4096 characters")
            kind = body.get("response_format", "mp3")
            if kind not in _FORMATS:
                raise _invalid(f"response_format {kind!r} is not supported")
            content_type, magic = _FORMATS[kind]
            audio = magic + b"fake-speech:" + str(body["input"]).encode()
            return web.Response(body=audio, content_type=content_type)
        except _ApiError as error:
            return error.response()


@pytest_asyncio.fixture
async def fake_speech() -> AsyncIterator[FakeSpeech]:
    """A running :class:`FakeSpeech`, stopped after the test."""
    async with FakeSpeech() as fake:
        yield fake


__all__ = [
    "DEFAULT_KEY",
    "SPEECH_PATH",
    "TRANSCRIBE_PATH",
    "FakeSpeech",
    "SpeechRequest",
    "fake_speech",
]
