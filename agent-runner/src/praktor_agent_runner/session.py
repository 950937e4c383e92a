"""Claude Code processes: how they are started, kept warm and ended.

(Their environment and home are prepared by :mod:`praktor_agent_runner.home`.)

* :func:`claude_options` — the SDK options (spec §7.4): the system prompt, the
  workspace as ``cwd`` with ``setting_sources`` user + project + local (so the
  workspace and global ``CLAUDE.md`` are loaded as Claude Code memory), model,
  tools, max turns, resume, bypassed permissions, the agent's MCP servers.
* :class:`PromptSource` — reads USER.md, AGENT.md, the global CLAUDE.md and
  the memory index for :func:`~praktor_agent_runner.prompt.build_system_prompt`.
* :class:`ClaudeProcess` — one ``ClaudeSDKClient`` (one CLI process).
* :class:`Sessions` — the conversation's process, kept WARM between turns and
  keyed by the Claude session id (spec §20 race 7): a turn reuses the running
  process when it serves the current session and was started with the current
  system prompt; after each turn the prompt is rebuilt and, when it changed,
  a replacement is started in the background (resuming the same session).
  Task and routing turns get fresh processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog
from claude_agent_sdk import (
    ClaudeAgentOptions,
    ClaudeSDKClient,
    McpServerConfig,
    Message,
    ResultMessage,
    SettingSource,
    SystemMessage,
)

from praktor_agent_runner.current_turn import TurnServers, TurnSlot
from praktor_agent_runner.home import forget_sessions
from praktor_agent_runner.prompt import MemoryHint, PromptInputs, build_system_prompt
from praktor_agent_runner.settings import AgentSettings

log = structlog.get_logger(__name__)

SETTING_SOURCES: Final[tuple[SettingSource, ...]] = ("user", "project", "local")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


MemoryIndex = Callable[[], Awaitable[Sequence[MemoryHint]]]


async def no_memories() -> Sequence[MemoryHint]:
    return ()


class PromptSource:
    """Reads what the system prompt is built from (files, the memory index)."""

    def __init__(
        self,
        settings: AgentSettings,
        memory_index: MemoryIndex = no_memories,
        *,
        browser_tools: str | None = None,
    ) -> None:
        self.settings = settings
        self.memory_index = memory_index
        self.browser_tools = browser_tools
        """The browser's tool prefix when a browser is offered (it is then described)."""

    async def inputs(self, *, routing: bool = False) -> PromptInputs:
        s = self.settings
        memories: Sequence[MemoryHint] = ()
        if not routing:
            try:
                memories = await self.memory_index()
            except Exception as exc:  # the prompt is built without the list
                log.warning("memory index unavailable", error=f"{type(exc).__name__}: {exc}")
        return PromptInputs(
            user_md=_read(s.global_dir / "USER.md"),
            agent_md=_read(s.workspace / "AGENT.md"),
            global_claude_md=_read(s.global_dir / "CLAUDE.md"),
            agent_md_path=str(s.workspace / "AGENT.md"),
            memories=memories,
            browser_tools=None if routing else self.browser_tools,
            routing=routing,
        )

    async def system_prompt(self, *, routing: bool = False) -> str:
        return build_system_prompt(await self.inputs(routing=routing))


def _stderr_line(line: str) -> None:
    log.info("claude stderr", line=line.rstrip()[:500])


def claude_options(
    settings: AgentSettings,
    *,
    system_prompt: str,
    env: Mapping[str, str],
    mcp_servers: Mapping[str, McpServerConfig],
    resume: str | None = None,
    routing: bool = False,
) -> ClaudeAgentOptions:
    """Options for one Claude Code process (spec §7.4).

    Built-in tools: all (WebSearch and WebFetch included) unless
    ``PRAKTOR_ALLOWED_TOOLS`` lists the ones allowed; the agent's MCP tools are
    always there. A routing query gets no tools, no MCP servers, one turn.
    """
    tools: list[str] | None
    if routing:
        tools = []
    elif settings.allowed_tools is not None:
        tools = list(settings.allowed_tools)
    else:
        tools = None
    return ClaudeAgentOptions(
        tools=tools,
        system_prompt=system_prompt,
        mcp_servers={} if routing else dict(mcp_servers),
        strict_mcp_config=routing,
        permission_mode="bypassPermissions",
        resume=resume,
        max_turns=1 if routing else settings.max_turns,
        model=settings.model,
        cwd=str(settings.workspace),
        setting_sources=list(SETTING_SOURCES),
        include_partial_messages=not routing,
        env=dict(env),
        stderr=_stderr_line,
    )


class ClaudeEndedError(RuntimeError):
    """Claude Code stopped before the turn had a result."""


ClientFactory = Callable[[ClaudeAgentOptions], ClaudeSDKClient]

CLOSE_TIMEOUT: Final = 5.0
"""A Claude Code process that has not disconnected after this long is killed."""
_lingering: set[asyncio.Task[None]] = set()
"""Disconnects that outlived their process's close (kept referenced until they end)."""


def _cli_of(client: object) -> object | None:
    """The client's CLI subprocess (the SDK's transport keeps it; None when unknown)."""
    return getattr(getattr(client, "_transport", None), "_process", None)


def _kill(cli: object | None) -> None:
    kill = getattr(cli, "kill", None)
    if callable(kill):
        with contextlib.suppress(Exception):
            kill()


class ClaudeProcess:
    """One Claude Code CLI driven through a ``ClaudeSDKClient``."""

    def __init__(
        self,
        options: ClaudeAgentOptions,
        *,
        prompt_key: str = "",
        generation: int = 0,
        client_factory: ClientFactory = ClaudeSDKClient,
        turn: TurnSlot | None = None,
    ) -> None:
        self.turn = turn or TurnSlot()
        """The turn being worked on (what the process's own tools act for)."""
        self.resumed_from = options.resume
        self.session_id: str | None = options.resume
        self.prompt_key = prompt_key
        self.generation = generation
        self._client = client_factory(options)
        self._closed = False
        self.turns = 0
        self.close_timeout = CLOSE_TIMEOUT

    async def start(self) -> ClaudeProcess:
        await self._client.connect()
        return self

    async def ask(self, prompt: str, msg_id: str | None = None) -> AsyncIterator[Message]:
        """Send ``prompt`` (for turn ``msg_id``); yield every message up to and including
        the result."""
        self.turn.msg_id = msg_id
        self.turns += 1
        await self._client.query(prompt)
        async for message in self._client.receive_response():
            if isinstance(message, SystemMessage) and message.subtype == "init":
                self.session_id = str(message.data.get("session_id") or self.session_id or "")
            if isinstance(message, ResultMessage):
                self.session_id = message.session_id or self.session_id
                yield message
                return
            yield message
        raise ClaudeEndedError("Claude Code ended before the turn had a result")

    async def interrupt(self) -> None:
        await self._client.interrupt()

    async def close(self) -> None:
        """End the CLI: disconnect, and kill it when that takes over ``close_timeout``."""
        if self._closed:
            return
        self._closed = True
        cli = _cli_of(self._client)
        disconnect = asyncio.create_task(self._disconnect())
        _lingering.add(disconnect)
        disconnect.add_done_callback(_lingering.discard)
        done, _ = await asyncio.wait({disconnect}, timeout=self.close_timeout)
        if not done:
            log.warning(
                "Claude Code did not end in time; killed",
                seconds=self.close_timeout,
                pid=getattr(cli, "pid", None),
            )
            _kill(cli)

    async def _disconnect(self) -> None:
        try:
            await self._client.disconnect()
        except Exception as exc:
            log.info("Claude Code disconnect failed", error=f"{type(exc).__name__}: {exc}"[:200])

    @property
    def closed(self) -> bool:
        return self._closed


def prompt_key(system_prompt: str) -> str:
    return hashlib.sha256(system_prompt.encode()).hexdigest()


@dataclass
class _Launch:
    """A process being started in the background for ``resume`` with a given prompt."""

    task: asyncio.Task[ClaudeProcess]
    resume: str | None
    prompt_key: str


def is_missing_session(exc: BaseException) -> bool:
    """Claude Code could not resume: the session's transcript is gone."""
    return "no conversation found" in str(exc).lower()


class Sessions:
    """Claude Code processes for one agent: the warm conversation and fresh ones.

    Two slots keep the conversation warm: ``current`` (an idle process serving
    the current session) and ``next`` (a replacement being started because the
    system prompt changed, or because there is no process yet). A turn takes
    ``next`` when it is ready, else ``current`` (its prompt at most one turn
    stale, as upstream's warm handle), else waits for ``next``, else starts
    one cold.
    """

    def __init__(
        self,
        settings: AgentSettings,
        prompts: PromptSource,
        *,
        mcp_servers: Mapping[str, McpServerConfig],
        env: Mapping[str, str],
        client_factory: ClientFactory = ClaudeSDKClient,
        turn_servers: TurnServers | None = None,
    ) -> None:
        self.settings = settings
        self.prompts = prompts
        self.mcp_servers = mcp_servers
        self.turn_servers = turn_servers
        """MCP servers made for each process, bound to its turn (e.g. ``file_send``)."""
        self.env = env
        self.client_factory = client_factory
        self.session_id: str | None = settings.session_id
        """The conversation's Claude session (resumed by the next turn)."""
        self._current: ClaudeProcess | None = None
        self._next: _Launch | None = None
        self._closing: set[asyncio.Task[None]] = set()
        """Processes of dropped launches being closed."""
        self._generation = 0
        """Raised by :meth:`clear`: a process from before does not bring its session back."""
        self._closed = False

    # --- building processes -----------------------------------------------------------

    async def _launch(
        self, system_prompt: str, resume: str | None, *, routing: bool = False
    ) -> ClaudeProcess:
        turn = TurnSlot()
        servers = dict(self.mcp_servers)
        if self.turn_servers is not None and not routing:
            servers.update(self.turn_servers(turn))
        options = claude_options(
            self.settings,
            system_prompt=system_prompt,
            env=self.env,
            mcp_servers=servers,
            resume=resume,
            routing=routing,
        )
        process = ClaudeProcess(
            options,
            prompt_key=prompt_key(system_prompt),
            generation=self._generation,
            client_factory=self.client_factory,
            turn=turn,
        )
        try:
            return await process.start()
        except BaseException:
            await process.close()
            raise

    async def fresh(self, *, routing: bool = False) -> ClaudeProcess:
        """A new process in a new session (task and routing turns); the caller closes it."""
        system_prompt = await self.prompts.system_prompt(routing=routing)
        return await self._launch(system_prompt, None, routing=routing)

    # --- the warm conversation --------------------------------------------------------

    def _serves(self, process: ClaudeProcess | None) -> bool:
        return (
            process is not None
            and not process.closed
            and process.generation == self._generation
            and process.session_id == self.session_id
        )

    async def prewarm(self) -> None:
        """Have a process ready for the current session with the current system prompt."""
        if self._closed:
            return
        system_prompt = await self.prompts.system_prompt()
        key = prompt_key(system_prompt)
        current = self._current
        if current is not None and self._serves(current) and current.prompt_key == key:
            await self._drop_next()
            return
        nxt = self._next
        if nxt is not None and nxt.resume == self.session_id and nxt.prompt_key == key:
            return
        await self._drop_next()
        self._next = _Launch(
            task=asyncio.create_task(self._launch_conversation(system_prompt)),
            resume=self.session_id,
            prompt_key=key,
        )

    async def conversation(self) -> ClaudeProcess:
        """The process for the next conversational turn (warm when possible)."""
        nxt = self._next
        if nxt is not None and nxt.task.done():
            self._next = None
            if (process := await self._usable(nxt)) is not None:
                await self._drop_current()
                return process
        current = self._current
        if current is not None and self._serves(current):
            self._current = None
            return current
        await self._drop_current()
        nxt, self._next = self._next, None
        if nxt is not None and (process := await self._usable(nxt)) is not None:
            return process
        return await self._launch_conversation(await self.prompts.system_prompt())

    async def _usable(self, launch: _Launch) -> ClaudeProcess | None:
        """The launched process if it started and serves the current session."""
        try:
            process = await launch.task
        except Exception as exc:
            log.warning("warm Claude process failed to start", error=str(exc)[:300])
            return None
        if self._serves(process):
            return process
        await process.close()
        return None

    async def _launch_conversation(self, system_prompt: str) -> ClaudeProcess:
        """A process resuming the current session; a new session when it cannot be resumed."""
        resume = self.session_id
        try:
            return await self._launch(system_prompt, resume)
        except Exception as exc:
            if resume is None or not is_missing_session(exc):
                raise
        log.warning("Claude session could not be resumed; starting a new one", session=resume)
        if self.session_id == resume:
            self.session_id = None
        return await self._launch(system_prompt, None)

    async def finished(self, process: ClaudeProcess, *, healthy: bool) -> None:
        """A conversational turn ended: keep its process warm, or end it; then re-warm."""
        if process.generation == self._generation and process.session_id:
            self.session_id = process.session_id
        if healthy and self._serves(process):
            await self._drop_current()
            self._current = process
        else:
            await process.close()
        await self.prewarm()

    async def resume_failed(self, process: ClaudeProcess) -> None:
        """The session could not be resumed: start the conversation over."""
        log.warning("Claude session could not be resumed; starting a new one")
        await process.close()
        self.session_id = None
        await self._drop_current()
        await self._drop_next()

    async def clear(self) -> None:
        """Forget the conversation: no resume, stored sessions deleted, a new warm process."""
        self._generation += 1
        self.session_id = None
        await self._drop_current()
        await self._drop_next()
        await asyncio.to_thread(forget_sessions, self.settings)
        await self.prewarm()

    async def _drop_current(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            await current.close()

    async def _drop_next(self) -> None:
        """Stop the background launch and close its process; a launch that does not
        stop in time has its process closed in the background when it comes."""
        nxt, self._next = self._next, None
        if nxt is None:
            return
        if not nxt.task.done():
            nxt.task.cancel()
        done, _ = await asyncio.wait({nxt.task}, timeout=CLOSE_TIMEOUT)
        if not done:
            log.warning("a Claude process launch did not stop in time; left to end alone")
            nxt.task.add_done_callback(self._close_launched)
            return
        if not nxt.task.cancelled() and nxt.task.exception() is None:
            await nxt.task.result().close()

    def _close_launched(self, task: asyncio.Task[ClaudeProcess]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        closing = asyncio.create_task(task.result().close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        self._closed = True
        await self._drop_next()
        await self._drop_current()
        if self._closing:
            await asyncio.wait(set(self._closing), timeout=CLOSE_TIMEOUT * 2)
