"""Stand-ins for the turn manager's collaborators: Claude Code processes, the bus.

(Unit tests only: the integration tests run the real CLI, bus and runner.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from claude_agent_sdk import Message
from sdk_messages import assistant, result, streamed, task_started

from praktor_agent_runner.turns import Job, TurnManager
from praktor_common.contracts.agent import AgentInput, AgentResult, AgentText
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id

ORIGIN = Origin(channel="telegram", chat_id="42")
_numbers = itertools.count(1)


class FakeProcess:
    def __init__(self, claude: FakeClaude, resumed_from: str | None = None) -> None:
        self.claude = claude
        self.name = f"p{next(_numbers)}"
        self.session_id = resumed_from
        self.resumed_from = resumed_from
        self.turns = 0
        self.prompts: list[str] = []
        self.msg_ids: list[str | None] = []
        """The turn each prompt was asked for."""
        self.closed = False
        self.interrupted = asyncio.Event()

    async def ask(self, prompt: str, msg_id: str | None = None) -> AsyncIterator[Message]:
        self.turns += 1
        self.prompts.append(prompt)
        self.msg_ids.append(msg_id)
        self.claude.asked.append(prompt)
        if self.session_id is None:
            self.session_id = f"session-{self.name}"
        if self.claude.first_error is not None:
            error, self.claude.first_error = self.claude.first_error, None
            raise error
        if self.resumed_from is not None and self.resumed_from == self.claude.missing_session:
            raise RuntimeError(f"No conversation found with session ID: {self.resumed_from}")
        if prompt in self.claude.fail:
            raise RuntimeError(self.claude.fail[prompt])
        for _ in range(self.claude.background.get(prompt, 0)):
            yield task_started(f"task-{next(_numbers)}")
        for message in streamed(f"m-{self.name}-{self.turns}", "Working"):
            yield message
        await asyncio.sleep(0.01)  # the model takes its time
        hold = self.claude.holds.get(prompt)
        if hold is not None:
            await _first(hold, self.interrupted)
        if self.interrupted.is_set():
            if self.claude.ignore_interrupt:
                await asyncio.Event().wait()
            yield result(
                None,
                subtype="error_during_execution",
                is_error=True,
                terminal_reason="aborted_streaming",
                session_id=self.session_id,
            )
            return
        answer = self.claude.answers.get(prompt, f"answer to {prompt}")
        yield assistant(f"m-{self.name}-{self.turns}-final", answer)
        yield result(answer, session_id=self.session_id)

    async def interrupt(self) -> None:
        self.interrupted.set()

    async def close(self) -> None:
        self.closed = True


async def _first(*events: asyncio.Event) -> None:
    waits = {asyncio.ensure_future(e.wait()) for e in events}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


@dataclass
class FakeClaude:
    """Plays Claude Code and the session pool (:class:`SessionPool`)."""

    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)
    background: dict[str, int] = field(default_factory=dict)
    ignore_interrupt: bool = False
    missing_session: str | None = None
    housekeeping_hangs: bool = False
    """``finished`` never returns (a process that cannot be kept warm or closed)."""
    first_error: BaseException | None = None
    asked: list[str] = field(default_factory=list)
    processes: list[FakeProcess] = field(default_factory=list)
    finished_healthy: list[bool] = field(default_factory=list)
    session_id: str | None = None
    cleared: int = 0
    _current: FakeProcess | None = None

    def hold(self, prompt: str) -> asyncio.Event:
        self.holds[prompt] = asyncio.Event()
        return self.holds[prompt]

    def _new(self, resumed_from: str | None = None) -> FakeProcess:
        process = FakeProcess(self, resumed_from)
        self.processes.append(process)
        return process

    async def conversation(self) -> FakeProcess:
        if self._current is None:
            self._current = self._new(self.session_id)
        return self._current

    async def finished(self, process: FakeProcess, *, healthy: bool) -> None:
        self.finished_healthy.append(healthy)
        self.session_id = process.session_id
        if self.housekeeping_hangs:
            await asyncio.Event().wait()
        if not healthy:
            await process.close()
            self._current = None

    async def resume_failed(self, process: FakeProcess) -> None:
        await process.close()
        self._current = None
        self.session_id = None

    async def fresh(self, *, routing: bool = False) -> FakeProcess:
        return self._new()

    async def clear(self) -> None:
        self.cleared += 1
        self.session_id = None
        self._current = None


@dataclass
class FakeHandle:
    delivered: int = 1
    acks: int = 0
    naks: int = 0

    async def ack(self) -> None:
        self.acks += 1

    async def nak(self) -> None:
        self.naks += 1

    @property
    def settled(self) -> bool:
        return self.acks + self.naks > 0


@dataclass
class FakeSink:
    texts: list[AgentText] = field(default_factory=list)
    results: list[AgentResult] = field(default_factory=list)
    fail_results: bool = False
    slow_texts_lose_cancellation: bool = False
    """A text publish takes a while and returns normally when cancelled, as Python
    3.11's ``asyncio.wait_for`` (in the NATS client) can when the ack lands then."""

    async def text(self, output: AgentText) -> None:
        self.texts.append(output)
        if self.slow_texts_lose_cancellation:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.2)

    async def result(self, output: AgentResult) -> None:
        if self.fail_results:
            raise RuntimeError("stream full")
        self.results.append(output)

    def result_for(self, job: Job) -> AgentResult | None:
        found = [r for r in self.results if r.msg_id == job.turn.msg_id]
        return found[0] if found else None


def job(text: str, *, kind: str = "conversational", delivered: int = 1, **values: object) -> Job:
    fields: dict[str, object] = {
        "msg_id": new_id(),
        "agent_id": "coder",
        "text": text,
        "origin": ORIGIN,
        "sender": "user:7",
        "kind": kind,
    }
    if kind == "task":
        fields |= {"task_id": new_id(), "task_run_id": new_id(), "sender": "scheduler"}
    fields.update(values)
    return Job(turn=AgentInput.model_validate(fields), handle=FakeHandle(delivered=delivered))


def handle(j: Job) -> FakeHandle:
    assert isinstance(j.handle, FakeHandle)
    return j.handle


def manager(claude: FakeClaude, sink: FakeSink, **options: object) -> TurnManager[FakeProcess]:
    values: dict[str, object] = {"text_interval": 0.05, "interrupt_grace": 0.3}
    values.update(options)
    return TurnManager("coder", claude, sink, **values)  # type: ignore[arg-type]
