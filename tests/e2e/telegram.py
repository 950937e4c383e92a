"""Telegram through the whole suite: the fakes the gateway talks to, and a person in a chat.

``praktor up`` runs every service; the gateway polls a :class:`FakeTelegram`
(``telegram.api_base_url``), transcribes and speaks through a
:class:`FakeSpeech` (``speech.base_url``), and agents answer from a
:class:`ThreadedFakeAnthropic`. Each fake runs in its own thread
(:class:`Served`), so it keeps answering while the test blocks or its own
loop is busy; everything the test does with a fake goes through
:meth:`Served.call`, on the fake's loop.

A :class:`Person` writes in a private chat (their user id is the chat id) and
reads the chat as the bot left it: :meth:`Person.bot_messages` are the bot's
messages with every edit applied, so a placeholder shows its final text.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, Generic, Protocol, TypeVar

from praktor_common.testing.fake_speech import FakeSpeech
from praktor_common.testing.fake_telegram import FakeTelegram, RateLimits, SentMessage
from tests.e2e.agent_harness import agents_config
from tests.e2e.harness import Suite

OWNER: Final = 5_550_001
"""The owner's Telegram user id (in ``allow_from``); also their private chat's id."""
STRANGER: Final = 5_550_002
"""Someone the owner has never heard of."""
PLACEHOLDER: Final = "…"


class _Server(Protocol):
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str: ...

    async def stop(self) -> None: ...


F = TypeVar("F", bound=_Server)
T = TypeVar("T")


class Served(Generic[F]):
    """A fake server on its own event loop in a background thread."""

    def __init__(self, fake: F, name: str) -> None:
        self.fake = fake
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)

    def __enter__(self) -> Served[F]:
        self._thread.start()
        self.base_url = self._run(self.fake.start())
        return self

    def __exit__(self, *_exc: object) -> None:
        self._run(self.fake.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def call(self, action: Callable[[F], T]) -> T:
        """``action(fake)`` run on the fake's loop (safe against its handlers); its result."""

        async def run() -> T:
            return action(self.fake)

        return self._run(run())


def serve_telegram() -> Served[FakeTelegram]:
    """A fake Bot API without flood control (the tests measure the suite, not Telegram)."""
    return Served(FakeTelegram(rate_limits=RateLimits.off()), "fake-telegram")


def serve_speech() -> Served[FakeSpeech]:
    return Served(FakeSpeech(), "fake-speech")


def telegram_config(
    *,
    model: str,
    telegram: Served[FakeTelegram],
    speech: Served[FakeSpeech] | None,
    agents: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """A suite config with the Telegram gateway on the fake and ``OWNER`` allowed."""
    config = agents_config(model, agents)
    config["telegram"] = {
        "token": telegram.fake.token,
        "api_base_url": telegram.base_url,
        "allow_from": [OWNER],
    }
    if speech is not None:
        config["speech"] = {
            "api_key": speech.fake.api_key,
            "base_url": speech.base_url,
            "tts_enabled": True,
            "tts_mode": "voice",
        }
    return config


@dataclass
class Person:
    """Someone writing to the bot in their private chat."""

    suite: Suite
    telegram: Served[FakeTelegram]
    user_id: int = OWNER

    @property
    def chat_id(self) -> int:
        return self.user_id

    def say(self, text: str, *, reply_to: int | None = None) -> int:
        """Send a text message; its message id."""
        update = self.telegram.call(
            lambda fake: fake.push_text(self.chat_id, text, reply_to=reply_to)
        )
        return int(update["message"]["message_id"])

    def push(self, action: Callable[[FakeTelegram], T]) -> T:
        return self.telegram.call(action)

    def bot_messages(self) -> list[SentMessage]:
        """The bot's messages in this chat, oldest first, edits applied."""
        return self.telegram.call(lambda fake: fake.sent_messages(self.chat_id))

    def texts(self) -> list[str]:
        return [message.text for message in self.bot_messages()]

    async def wait(
        self, condition: Callable[[list[SentMessage]], bool], within: float, what: str
    ) -> list[SentMessage]:
        """Wait until the chat shows what ``condition`` looks for; the bot's messages then."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            messages = await asyncio.to_thread(self.bot_messages)
            if condition(messages):
                return messages
            await asyncio.sleep(0.25)
        shown = "\n".join(f"  {m.message_id} [{m.kind}] {m.text[:120]!r}" for m in messages)
        raise AssertionError(
            f"timed out after {within}s waiting for {what}; the chat shows:\n{shown}\n"
            f"{self.suite.output()[-5000:]}"
        )

    async def answer(self, text: str, within: float = 120) -> SentMessage:
        """Wait for the bot message whose final text is ``text``; it must appear only once."""
        messages = await self.wait(
            lambda ms: any(m.text == text for m in ms), within, f"the answer {text!r}"
        )
        [found] = [m for m in messages if m.text == text]
        return found

    async def replied(self, message_id: int, within: float = 60) -> list[SentMessage]:
        """The bot's completed replies to ``message_id`` (waits for at least one)."""

        def completed(messages: list[SentMessage]) -> bool:
            replies = [m for m in messages if m.reply_to_message_id == message_id]
            return bool(replies) and all(m.text != PLACEHOLDER for m in replies)

        messages = await self.wait(completed, within, f"the reply to message {message_id}")
        return [m for m in messages if m.reply_to_message_id == message_id]

    async def message_containing(self, part: str, within: float = 60) -> SentMessage:
        messages = await self.wait(
            lambda ms: any(part in m.text for m in ms), within, f"a message with {part!r}"
        )
        return next(m for m in messages if part in m.text)


def kill_service(suite: Suite, name: str) -> int:
    """``kill -9`` one service of the suite; its pid (the supervisor starts a new one)."""
    pid = suite.service_pid(name)
    os.kill(pid, signal.SIGKILL)
    return pid


async def back_again(suite: Suite, name: str, killed: int, within: float = 90) -> None:
    """Wait until the supervisor has ``name`` running again under a new pid, and ready."""

    def back() -> bool:
        service = suite.services()[name]
        return bool(service["ready"] and service["pid"] and service["pid"] != killed)

    await asyncio.to_thread(suite.wait_for, back, within, f"{name} restarted and ready")


def no_placeholders_left(messages: list[SentMessage]) -> bool:
    return all(m.text != PLACEHOLDER for m in messages)
