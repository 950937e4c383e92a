"""Running turns: one conversational turn at a time, tasks in parallel (spec §7.5-7.8).

* Conversational (and swarm, retry-notice) inputs wait in a FIFO and run one
  at a time in the agent's session (the warm process of
  :class:`~praktor_agent_runner.session.Sessions`).
* Task inputs run at once in fresh sessions, up to ``max_parallel_tasks``;
  more wait in their own FIFO.
* While a turn runs, the whole text so far is published as
  :class:`~praktor_common.contracts.agent.AgentText` (increasing ``seq``, at
  most every ``text_interval`` seconds); then one
  :class:`~praktor_common.contracts.agent.AgentResult`; then the input is
  acknowledged. A turn whose result could not be published is handed back
  (nak) to run again. Only then comes the process housekeeping (keeping it
  warm, pre-warming a replacement, closing old ones); the next turn waits for
  it at most :data:`HOUSEKEEPING_WAIT` seconds.
* ``abort`` interrupts every running turn and drops every waiting one: each is
  acknowledged without a result (the host already told the user, spec §7.6).
  Unlike upstream, nothing that arrives after the abort is suppressed.
* ``shutdown`` hands back waiting inputs at once, lets running turns finish for
  a grace period, then interrupts them and hands them back unacknowledged, so
  the next runner gets them again (with a retry note).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Generic, Literal, Protocol, TypeVar

import structlog
from claude_agent_sdk import CLIConnectionError, Message, ResultMessage

from praktor_agent_runner.outcome import (
    BackgroundTasks,
    Outcome,
    TextSoFar,
    compose_prompt,
    error_outcome,
    first_seq,
    result_outcome,
    result_output,
    text_output,
)
from praktor_agent_runner.session import is_missing_session
from praktor_agent_runner.uploads import ReceiveUploads, with_uploads
from praktor_common.contracts.agent import AgentInput, AgentResult, AgentText, PingReply

log = structlog.get_logger(__name__)

TEXT_INTERVAL: Final = 0.5
INTERRUPT_GRACE: Final = 3.0
ROUTE_TIMEOUT: Final = 25.0
CLOSE_GRACE: Final = 2.0
HOUSEKEEPING_WAIT: Final = 10.0
"""How long the next turn waits for the previous turn's process housekeeping (keeping its
process warm, pre-warming, closing old processes): it goes on in the background after."""
REMEMBERED: Final = 512

ROUTE_INSTRUCTION: Final = (
    "You are a message router. Answer with ONLY the name of the agent best suited to handle "
    "the message below: no other words, no punctuation."
)


class JobHandle(Protocol):
    """How a pulled input is settled on the bus."""

    @property
    def delivered(self) -> int:
        """How many times the bus has delivered it (1 the first time)."""
        ...

    async def ack(self) -> None: ...

    async def nak(self) -> None:
        """Hand it back to be delivered again."""
        ...


@dataclass(eq=False)
class Job:
    turn: AgentInput
    handle: JobHandle


class OutputSink(Protocol):
    async def text(self, output: AgentText) -> None: ...

    async def result(self, output: AgentResult) -> None: ...


class Process(Protocol):
    """One Claude Code process (see :class:`~praktor_agent_runner.session.ClaudeProcess`)."""

    session_id: str | None
    resumed_from: str | None
    turns: int

    def ask(self, prompt: str, msg_id: str | None = None) -> AsyncIterator[Message]:
        """The turn's messages; ``msg_id`` names the turn for the process's own tools."""
        ...

    async def interrupt(self) -> None: ...

    async def close(self) -> None: ...


P = TypeVar("P", bound=Process)


class SessionPool(Protocol[P]):
    """Where processes come from (see :class:`~praktor_agent_runner.session.Sessions`)."""

    async def conversation(self) -> P: ...

    async def finished(self, process: P, *, healthy: bool) -> None: ...

    async def resume_failed(self, process: P) -> None: ...

    async def fresh(self, *, routing: bool = False) -> P: ...

    async def clear(self) -> None: ...


class PartialText:
    """Publishes the latest text: at once, then at most every ``interval`` seconds."""

    def __init__(
        self, publish: Callable[[int, str], Awaitable[None]], interval: float, first_seq: int = 0
    ) -> None:
        self._publish = publish
        self._interval = interval
        self._latest = ""
        self._sent = ""
        self._seq = first_seq
        self._changed = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def update(self, text: str) -> None:
        self._latest = text
        self._changed.set()

    async def _run(self) -> None:
        while not self._closing:
            await self._changed.wait()
            self._changed.clear()
            if self._closing or self._latest == self._sent:
                continue
            text, seq = self._latest, self._seq
            self._seq += 1
            self._sent = text
            try:
                await self._publish(seq, text)
            except Exception as exc:  # partial text is best effort
                log.warning("partial text not published", seq=seq, error=str(exc)[:200])
            await asyncio.sleep(self._interval)

    async def close(self) -> None:
        """Stop publishing; bounded even when the cancellation is swallowed (on Python
        3.11 ``asyncio.wait_for``, used by the NATS client, can lose it when the awaited
        publish completes at the same moment), as the loop also stops on its own."""
        self._closing = True
        self._changed.set()
        self._task.cancel()
        done, _ = await asyncio.wait({self._task}, timeout=self._interval + CLOSE_GRACE)
        if not done:
            log.warning("partial text publisher did not stop; left behind")


StopReason = Literal["abort", "shutdown"]


@dataclass(eq=False)
class Running:
    job: Job
    lane: Literal["conversation", "task"]
    process: Process | None = None
    task: asyncio.Task[None] | None = None
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    stop: StopReason | None = None
    started: float = field(default_factory=time.monotonic)
    housekeeping: Callable[[], Awaitable[None]] | None = None
    """What to do with the turn's process once the turn is settled."""


class TurnFailedError(Exception):
    """Claude Code failed before the turn's result; ``streamed`` is what was written."""

    def __init__(self, cause: BaseException, streamed: str) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.streamed = streamed


class TurnManager(Generic[P]):
    """Queues, runs and settles an agent's turns."""

    def __init__(
        self,
        agent_id: str,
        sessions: SessionPool[P],
        sink: OutputSink,
        *,
        max_parallel_tasks: int = 3,
        text_interval: float = TEXT_INTERVAL,
        interrupt_grace: float = INTERRUPT_GRACE,
        uploads: ReceiveUploads | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.uploads = uploads
        """Saves a turn's attachments into the workspace; the lines for its prompt."""
        self.sessions = sessions
        self.sink = sink
        self.max_parallel_tasks = max_parallel_tasks
        self.text_interval = text_interval
        self.interrupt_grace = interrupt_grace
        self._queue: deque[Job] = deque()
        self._task_queue: deque[Job] = deque()
        self._conversation: Running | None = None
        self._tasks: set[Running] = set()
        self._lane: asyncio.Task[None] | None = None
        self._held: set[str] = set()
        self._done: OrderedDict[str, None] = OrderedDict()
        self._accepting = True
        self._idle = asyncio.Event()
        self._idle.set()
        self.housekeeping_wait = HOUSEKEEPING_WAIT
        self._housekeeping: set[asyncio.Task[None]] = set()

    # --- intake --------------------------------------------------------------------------

    async def submit(self, job: Job) -> None:
        """Take a pulled input: queue it, or settle it at once."""
        msg_id = job.turn.msg_id
        if not self._accepting:
            await job.handle.nak()
            return
        if msg_id in self._held:
            log.info("input delivered again while held; ignored", msg_id=msg_id)
            return
        if msg_id in self._done:
            log.info("input already answered; acknowledged", msg_id=msg_id)
            await job.handle.ack()
            return
        self._held.add(msg_id)
        self._idle.clear()
        if job.turn.kind == "task":
            self._task_queue.append(job)
            self._start_tasks()
        else:
            self._queue.append(job)
            if self._lane is None or self._lane.done():
                self._lane = asyncio.create_task(self._run_lane())

    # --- state -----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A conversational turn is running (routing queries are refused then)."""
        return self._conversation is not None

    def ping(self) -> PingReply:
        running = [r for r in (self._conversation, *self._tasks) if r is not None]
        return PingReply(
            processing=self._conversation is not None,
            pending_messages=len(self._queue) + len(self._task_queue),
            active_tasks=len(self._tasks),
            background_tasks=sum(r.background.count for r in running),
        )

    async def wait_idle(self) -> None:
        await self._idle.wait()

    # --- lanes -----------------------------------------------------------------------------

    async def _run_lane(self) -> None:
        while self._queue and self._accepting:
            running = Running(job=self._queue.popleft(), lane="conversation")
            self._conversation = running
            running.task = asyncio.create_task(self._turn(running))
            await asyncio.wait({running.task})
            self._conversation = None
        self._check_idle()

    def _start_tasks(self) -> None:
        while self._task_queue and len(self._tasks) < self.max_parallel_tasks and self._accepting:
            running = Running(job=self._task_queue.popleft(), lane="task")
            self._tasks.add(running)
            running.task = asyncio.create_task(self._turn(running))
            running.task.add_done_callback(functools.partial(self._task_done, running))

    def _task_done(self, running: Running, _task: asyncio.Task[None]) -> None:
        self._tasks.discard(running)
        self._start_tasks()
        self._check_idle()

    def _check_idle(self) -> None:
        if not (self._queue or self._task_queue or self._tasks or self._conversation):
            self._idle.set()

    # --- one turn --------------------------------------------------------------------------

    async def _turn(self, running: Running) -> None:
        outcome: Outcome | None = None
        cancelled = False
        try:
            outcome = await self._execute(running)
        except asyncio.CancelledError:
            cancelled = True
        except Exception as exc:  # never leave an input unsettled
            log.exception("turn failed", msg_id=running.job.turn.msg_id)
            outcome = error_outcome(exc, "", None)
        external = cancelled and running.stop is None
        if external:  # not ours (the process is going down): hand the input back
            running.stop = "shutdown"
        await self._settle(running, outcome)
        await self._housekeep(running)
        if external:
            raise asyncio.CancelledError

    async def _housekeep(self, running: Running) -> None:
        """The turn's process housekeeping, after the turn is settled; waited for at most
        ``housekeeping_wait`` seconds (it goes on in the background after that)."""
        work, running.housekeeping = running.housekeeping, None
        if work is None:
            return
        task = asyncio.create_task(_logged(work, running.job.turn.msg_id))
        self._housekeeping.add(task)
        task.add_done_callback(self._housekeeping.discard)
        done, _ = await asyncio.wait({task}, timeout=self.housekeeping_wait)
        if not done:
            log.warning(
                "process housekeeping is slow; the next turn does not wait for it",
                msg_id=running.job.turn.msg_id,
                seconds=self.housekeeping_wait,
            )

    async def _execute(self, running: Running) -> Outcome:
        job = running.job
        prompt = compose_prompt(job.turn, job.handle.delivered)
        if job.turn.attachments and self.uploads is not None:
            prompt = with_uploads(prompt, await self.uploads(job.turn))
        if running.lane == "task":
            process = await self.sessions.fresh()
            running.process = process
            running.housekeeping = process.close
            try:
                return await self._attempt(running, process, prompt)
            except TurnFailedError as failed:
                return error_outcome(failed.cause, failed.streamed, process.session_id)
        return await self._converse(running, prompt)

    async def _converse(self, running: Running, prompt: str) -> Outcome:
        """A conversational turn in the session's process; once more in a new process
        when the old one was gone or its session could not be resumed. The process is
        handed back (:meth:`_finish`) after the turn is settled."""
        process = await self.sessions.conversation()
        running.process = process
        self._release(running, process, healthy=False)
        try:
            try:
                outcome = await self._attempt(running, process, prompt)
            except TurnFailedError as failed:
                if not _worth_retrying(failed, process):
                    raise
                log.warning("Claude Code process unusable; the turn runs in a new one")
                running.housekeeping = None
                if _resume_missing(failed, process):
                    await self.sessions.resume_failed(process)
                else:
                    await self._finish(process, healthy=False)
                process = await self.sessions.conversation()
                running.process = process
                self._release(running, process, healthy=False)
                outcome = await self._attempt(running, process, prompt)
        except TurnFailedError as failed:
            return error_outcome(failed.cause, failed.streamed, process.session_id)
        self._release(running, process, healthy=True)
        return outcome

    def _release(self, running: Running, process: P, *, healthy: bool) -> None:
        """After the turn is settled, hand ``process`` back (see :meth:`_finish`)."""
        running.housekeeping = functools.partial(self._finish, process, healthy=healthy)

    async def _finish(self, process: P, *, healthy: bool) -> None:
        """Hand a conversational process back (kept warm), or just end it when stopping."""
        if self._accepting:
            await self.sessions.finished(process, healthy=healthy)
        else:
            await process.close()

    async def _attempt(self, running: Running, process: P, prompt: str) -> Outcome:
        turn = running.job.turn
        text = TextSoFar()

        async def publish(seq: int, content: str) -> None:
            await self.sink.text(text_output(turn, seq, content))

        first = first_seq(turn, running.job.handle.delivered)
        partial = PartialText(publish, self.text_interval, first)
        result: ResultMessage | None = None
        try:
            async for message in process.ask(prompt, turn.msg_id):
                running.background.observe(message)
                if text.feed(message):
                    partial.update(text.text)
                if isinstance(message, ResultMessage):
                    result = message
        except Exception as exc:
            if result is None:
                raise TurnFailedError(exc, text.text) from exc
            # spec §20 race 8: the CLI may fail after delivering its result
            log.warning("Claude Code failed after its result", error=str(exc)[:200])
        finally:
            await partial.close()
        if result is None:
            raise TurnFailedError(RuntimeError("Claude Code gave no result"), text.text)
        return result_outcome(result, text.text)

    async def _settle(self, running: Running, outcome: Outcome | None) -> None:
        job = running.job
        msg_id = job.turn.msg_id
        elapsed = round(time.monotonic() - running.started, 3)
        try:
            if running.stop == "abort":
                log.info("turn aborted", msg_id=msg_id, lane=running.lane, seconds=elapsed)
                await self._acknowledge(job)
            elif running.stop == "shutdown" or outcome is None:
                log.info("turn handed back", msg_id=msg_id, lane=running.lane, seconds=elapsed)
                await job.handle.nak()
            else:
                await self._publish_and_ack(job, outcome, elapsed, running.lane)
        except Exception as exc:
            log.warning("input could not be settled", msg_id=msg_id, error=str(exc)[:200])
        finally:
            self._held.discard(msg_id)

    async def _publish_and_ack(self, job: Job, outcome: Outcome, elapsed: float, lane: str) -> None:
        try:
            await self.sink.result(result_output(job.turn, outcome))
        except Exception as exc:
            log.error("result not published; input handed back", error=str(exc)[:300])
            await job.handle.nak()
            return
        log.info(
            "turn finished",
            msg_id=job.turn.msg_id,
            lane=lane,
            seconds=elapsed,
            terminal_reason=outcome.terminal_reason,
            is_error=outcome.is_error,
        )
        await self._acknowledge(job)

    async def _acknowledge(self, job: Job) -> None:
        """Remember the input as answered (a redelivery is acknowledged unrun), then ack."""
        self._done[job.turn.msg_id] = None
        while len(self._done) > REMEMBERED:
            self._done.popitem(last=False)
        await job.handle.ack()

    # --- control ---------------------------------------------------------------------------

    def _running(self) -> list[Running]:
        return [r for r in (self._conversation, *self._tasks) if r is not None]

    async def abort(self) -> None:
        """Interrupt every running turn, drop every waiting one; none publishes a result."""
        dropped = [*self._queue, *self._task_queue]
        self._queue.clear()
        self._task_queue.clear()
        for job in dropped:
            log.info("waiting input dropped by abort", msg_id=job.turn.msg_id)
            try:
                await self._acknowledge(job)
            finally:
                self._held.discard(job.turn.msg_id)
        running = self._running()
        for r in running:
            r.stop = "abort"
        await self._interrupt(running)
        self._check_idle()

    async def _interrupt(self, running: list[Running]) -> None:
        """Interrupt the turns; cancel (closing their process) those that do not stop in time."""
        for r in running:
            if r.process is not None:
                try:
                    await asyncio.wait_for(r.process.interrupt(), timeout=self.interrupt_grace)
                except Exception as exc:
                    log.warning("interrupt failed", error=f"{type(exc).__name__}: {exc}"[:200])
        tasks = {r.task for r in running if r.task is not None and not r.task.done()}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.interrupt_grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=self.interrupt_grace)

    async def clear_session(self) -> None:
        """Forget the conversation's session (a running turn is not aborted)."""
        await self.sessions.clear()

    async def route(self, text: str) -> str:
        """The agent to route ``text`` to (spec §7.8); our own id when busy or failing."""
        if not text.strip() or self.busy:
            return self.agent_id
        try:
            process = await self.sessions.fresh(routing=True)
        except Exception as exc:
            log.warning("routing query could not start", error=str(exc)[:200])
            return self.agent_id
        answer = ""
        try:
            async with asyncio.timeout(ROUTE_TIMEOUT):
                async for message in process.ask(f"{ROUTE_INSTRUCTION}\n\nUser message: {text}"):
                    if isinstance(message, ResultMessage) and not message.is_error:
                        answer = (message.result or "").strip()
        except Exception as exc:
            log.warning("routing query failed", error=f"{type(exc).__name__}: {exc}"[:200])
        finally:
            await process.close()
        return answer or self.agent_id

    async def shutdown(self, grace: float) -> None:
        """Stop taking work; hand back what waits; let running turns finish within ``grace``."""
        self._accepting = False
        waiting = [*self._queue, *self._task_queue]
        self._queue.clear()
        self._task_queue.clear()
        for job in waiting:
            with contextlib.suppress(Exception):
                await job.handle.nak()
            self._held.discard(job.turn.msg_id)
        running = self._running()
        tasks = {r.task for r in running if r.task is not None and not r.task.done()}
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        late = [r for r in running if r.task is not None and not r.task.done()]
        for r in late:
            r.stop = "shutdown"
        await self._interrupt(late)
        if self._lane is not None:
            await asyncio.wait({self._lane}, timeout=self.interrupt_grace)
        if self._housekeeping:
            await asyncio.wait(set(self._housekeeping), timeout=self.interrupt_grace)


async def _logged(work: Callable[[], Awaitable[None]], msg_id: str) -> None:
    try:
        await work()
    except Exception as exc:
        log.warning(
            "process housekeeping failed", msg_id=msg_id, error=f"{type(exc).__name__}: {exc}"
        )


def _worth_retrying(failed: TurnFailedError, process: Process) -> bool:
    """Nothing was produced and the process, not the turn, was the problem."""
    if failed.streamed:
        return False
    return _resume_missing(failed, process) or isinstance(failed.cause, CLIConnectionError)


def _resume_missing(failed: TurnFailedError, process: Process) -> bool:
    """The first turn of a resumed process failed because its session is gone."""
    return (
        process.resumed_from is not None
        and process.turns <= 1
        and not failed.streamed
        and is_missing_session(failed.cause)
    )
