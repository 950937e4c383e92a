"""The ``process`` runtime: each agent-runner as a subprocess, for machines without an engine.

It does **not** isolate agents from each other or from the host (it warns at
every start). What it does:

* as root, the runner runs as the unprivileged ``praktor-agent`` user
  (:mod:`.access`), which owns the agent's workspace, home and runtime dir and
  nothing else of the data directory; not as root, it runs as the current user;
* the runner gets a clean environment (never the orchestrator's: no database
  URL, no service credentials), its minted ``nats.creds`` (0600) in its own
  runtime dir, its own session and process group (stopped as a group);
* each runner is recorded in ``<data>/run/agents/<id>.json`` with the install
  id, its pid and start time, and carries ``PRAKTOR_INSTALL_ID`` in its
  environment: a restarted orchestrator finds its own leftovers (and only its
  own) by both, so it can adopt or stop them;
* workspaces and homes are never deleted.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import structlog

from praktor_common.identities.credentials import write_private
from praktor_common.ids import validate_agent_id

from . import procfs
from .access import (
    AccessError,
    RunAs,
    agent_user,
    allow_search,
    current_user,
    exposed_entries,
    own_tree,
)
from .base import (
    AgentDirs,
    AgentLaunch,
    ExitCallback,
    RuntimeHandle,
    RuntimeStartError,
)

log = structlog.get_logger(__name__)

DEFAULT_ARGS: Final = ("-m", "praktor_agent_runner")
CREDS_FILE: Final = "nats.creds"
ENV_INSTALL: Final = "PRAKTOR_INSTALL_ID"
ENV_AGENT: Final = "PRAKTOR_AGENT_ID"
PRIVATE_DIR: Final = 0o700
PASS_THROUGH: Final = 0o711
NOT_ISOLATED: Final = (
    "process runtime: agents run as plain processes and are NOT isolated from each other "
    "or from this machine; install Docker or Podman for isolation"
)


@dataclass
class _Agent:
    handle: RuntimeHandle
    pid: int
    start_ticks: int | None
    process: asyncio.subprocess.Process | None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int | None = None
    stopping: bool = False
    watcher: asyncio.Task[None] | None = None
    dirs: AgentDirs | None = None
    adopted_creds: Path | None = None

    @property
    def creds_file(self) -> Path | None:
        return self.dirs.runtime / CREDS_FILE if self.dirs is not None else self.adopted_creds


@dataclass(frozen=True)
class _Interpreter:
    path: str
    env: dict[str, str]


class ProcessRuntime:
    """Agents as local subprocesses (see the module docstring)."""

    name = "process"
    isolated = False

    def __init__(
        self,
        data_dir: Path,
        state_dir: Path,
        install_id: str,
        *,
        python: Path | None = None,
        args: Sequence[str] = DEFAULT_ARGS,
        agent_user: str | None = "praktor-agent",
        poll_interval: float = 1.0,
    ) -> None:
        self.data_dir = data_dir
        self.state_dir = state_dir
        self.install_id = install_id
        self._python = python
        self._args = tuple(args)
        self._agent_user = agent_user
        self._poll = poll_interval
        self._run_as: RunAs | None = None
        self._interpreter: _Interpreter | None = None
        self._agents: dict[str, _Agent] = {}
        self._exit_codes: dict[str, int | None] = {}
        self._callbacks: list[ExitCallback] = []

    # -- who runs agents ------------------------------------------------------------------

    def run_as(self) -> RunAs:
        """The user agents run as (created on first use when we are root)."""
        if self._run_as is None:
            if os.geteuid() == 0 and self._agent_user:
                self._run_as = agent_user(self._agent_user)
            else:
                self._run_as = current_user()
                log.warning(
                    "process runtime: agents run as the orchestrator's own user; "
                    "start the orchestrator as root to run them as an unprivileged user",
                    user=self._run_as.name,
                )
        return self._run_as

    def _resolve_interpreter(self, run_as: RunAs) -> _Interpreter:
        if self._interpreter is not None:
            return self._interpreter
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        if self._python is not None:
            candidates = [Path(self._python)]
        else:
            candidates = [
                Path(sys.executable),
                Path(f"/usr/local/bin/python{version}"),
                Path(f"/usr/bin/python{version}"),
            ]
        blocked: tuple[Path, str] | None = None
        for candidate in candidates:
            reason = _unusable(candidate, run_as)
            if reason is None:
                env = {} if candidate == Path(sys.executable) else _import_path_env()
                self._interpreter = _Interpreter(str(candidate), env)
                return self._interpreter
            if blocked is None:
                blocked = (candidate, reason)
        assert blocked is not None
        raise RuntimeStartError(
            f"the agent user {run_as.name!r} cannot run Python at {blocked[0]} "
            f"({blocked[1]}); set PRAKTOR_AGENT_PYTHON to a Python {version} it can run"
        )

    # -- the interface --------------------------------------------------------------------

    def on_exit(self, callback: ExitCallback) -> None:
        self._callbacks.append(callback)

    async def start(self, launch: AgentLaunch) -> RuntimeHandle:
        agent_id = launch.agent_id
        current = self._agents.get(agent_id)
        if current is not None and not current.ended.is_set():
            return current.handle
        log.warning(NOT_ISOLATED, agent_id=agent_id)
        self._exit_codes.pop(agent_id, None)
        try:
            run_as = self.run_as()
            interpreter = self._resolve_interpreter(run_as)
            await asyncio.to_thread(self._prepare, launch, run_as)
        except (AccessError, OSError) as exc:
            raise RuntimeStartError(f"could not prepare the agent's directories: {exc}") from exc
        dirs = launch.dirs
        creds_path = dirs.runtime / CREDS_FILE
        env = {
            "PATH": _path_for(interpreter.path),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "USER": run_as.name,
            "LOGNAME": run_as.name,
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            **interpreter.env,
            **launch.env,
            ENV_AGENT: agent_id,
            ENV_INSTALL: self.install_id,
            "PRAKTOR_NATS_CREDS": str(creds_path),
            "PRAKTOR_WORKSPACE": str(dirs.workspace),
            "PRAKTOR_GLOBAL_DIR": str(dirs.global_dir),
            "HOME": str(dirs.home),
        }
        self.state_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        log_path = self._log_file(agent_id)
        try:
            with open(log_path, "ab", buffering=0) as log_file:  # noqa: ASYNC230 - local, tiny
                os.chmod(log_path, 0o600)
                process = await asyncio.create_subprocess_exec(
                    interpreter.path,
                    *self._args,
                    cwd=str(dirs.workspace),
                    env=env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                    umask=0o077,
                    **_switch_user(run_as),
                )
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                creds_path.unlink()
            raise RuntimeStartError(
                f"could not start the agent process ({interpreter.path}): {exc.strerror or exc}"
            ) from exc
        info = procfs.proc_stat(process.pid)
        handle = RuntimeHandle(
            agent_id=agent_id,
            runtime_id=str(process.pid),
            started_at=dt.datetime.now(dt.UTC),
            install_id=self.install_id,
            credential_key=launch.credentials.public_key,
        )
        agent = _Agent(handle, process.pid, info.start_ticks if info else None, process, dirs=dirs)
        self._agents[agent_id] = agent
        self._write_pid_file(agent)
        agent.watcher = asyncio.create_task(self._watch(agent), name=f"agent-{agent_id}-exit")
        log.info("agent process started", agent_id=agent_id, pid=process.pid, user=run_as.name)
        return handle

    async def stop(self, agent_id: str, timeout: float = 10.0) -> bool:
        agent = self._agents.get(agent_id)
        if agent is None:
            return False
        agent.stopping = True
        was_running = not agent.ended.is_set() and self._alive(agent)
        if was_running:
            self._signal(agent, signal.SIGTERM)
            try:
                await asyncio.wait_for(agent.ended.wait(), timeout)
            except TimeoutError:
                log.warning("agent process ignored SIGTERM; killing it", agent_id=agent_id)
                self._signal(agent, signal.SIGKILL)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(agent.ended.wait(), 5.0)
        else:
            agent.ended.set()
        if agent.watcher is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(agent.watcher, 5.0)
        self._forget(agent)
        log.info("agent process stopped", agent_id=agent_id, pid=agent.pid)
        return was_running

    async def is_running(self, agent_id: str) -> bool:
        agent = self._agents.get(agent_id)
        return agent is not None and not agent.ended.is_set()

    async def exit_code(self, agent_id: str) -> int | None:
        agent = self._agents.get(agent_id)
        if agent is not None:
            return agent.exit_code
        return self._exit_codes.get(agent_id)

    async def leftovers(self) -> list[RuntimeHandle]:
        return await asyncio.to_thread(self._find_leftovers)

    async def adopt(self, handle: RuntimeHandle) -> None:
        pid = int(handle.runtime_id)
        info = procfs.proc_stat(pid)
        agent = _Agent(handle, pid, info.start_ticks if info else None, process=None)
        agent.adopted_creds = self._recorded_creds_file(handle.agent_id)
        self._agents[handle.agent_id] = agent
        self._write_pid_file(agent)
        agent.watcher = asyncio.create_task(
            self._watch(agent), name=f"agent-{handle.agent_id}-exit"
        )
        log.info("agent process adopted", agent_id=handle.agent_id, pid=pid)

    async def logs(self, agent_id: str, tail: int = 100) -> str:
        return await asyncio.to_thread(_tail, self._log_file(agent_id), tail)

    async def close(self) -> None:
        for agent in list(self._agents.values()):
            if agent.watcher is not None:
                agent.watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await agent.watcher

    def running(self) -> list[str]:
        return [a for a, agent in self._agents.items() if not agent.ended.is_set()]

    def _recorded_creds_file(self, agent_id: str) -> Path | None:
        try:
            value = json.loads(self._pid_file(agent_id).read_text()).get("creds_file")
        except (OSError, ValueError, AttributeError):
            return None
        return Path(value) if isinstance(value, str) else None

    def _pid_file(self, agent_id: str) -> Path:
        return self.state_dir / f"{validate_agent_id(agent_id)}.json"

    def _log_file(self, agent_id: str) -> Path:
        return self.state_dir / f"{validate_agent_id(agent_id)}.log"

    # -- internals ------------------------------------------------------------------------

    def _prepare(self, launch: AgentLaunch, run_as: RunAs) -> None:
        dirs = launch.dirs
        for directory in (dirs.workspace, dirs.home, dirs.runtime):
            directory.parent.mkdir(mode=PASS_THROUGH, parents=True, exist_ok=True)
            directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        if run_as.switches:
            self._open_way(run_as, dirs)
            for directory in (dirs.workspace, dirs.home, dirs.runtime):
                own_tree(directory, run_as)
                directory.chmod(PRIVATE_DIR)
        creds = dirs.runtime / CREDS_FILE
        write_private(creds, launch.credentials.creds_text())
        if run_as.switches:
            os.chown(creds, run_as.uid, run_as.gid)
        for placed in launch.files:
            path = process_file_path(placed.target, dirs)
            path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(placed.content)
            path.chmod(placed.mode)
            if run_as.switches:
                os.chown(path, run_as.uid, run_as.gid)

    def _open_way(self, run_as: RunAs, dirs: AgentDirs) -> None:
        """Let the agent user reach its directories: the search bit on the directories
        above them inside the data directory (never read); outside it, only checked."""
        data_dir = self.data_dir.resolve()
        for target in (dirs.workspace, dirs.home, dirs.runtime, dirs.global_dir):
            for directory in reversed(target.resolve().parents):
                if run_as.can_search(directory):
                    continue
                if directory == data_dir or directory.is_relative_to(data_dir):
                    if allow_search(directory):
                        log.info("search bit given to others", directory=str(directory))
                    continue
                raise AccessError(
                    f"the agent user {run_as.name!r} cannot pass {directory}, above "
                    f"{target}: put the data directory where it can (PRAKTOR_DATA_DIR, "
                    "e.g. /var/lib/praktor) or give that directory the search bit (chmod o+x)"
                )
        exposed = exposed_entries(data_dir)
        if exposed:
            log.warning(
                "entries of the data directory are readable by others (agents included); "
                "chmod o-r them",
                entries=exposed,
            )

    def _write_pid_file(self, agent: _Agent) -> None:
        record = {
            "agent_id": agent.handle.agent_id,
            "pid": agent.pid,
            "start_ticks": agent.start_ticks,
            "install_id": self.install_id,
            "started_at": agent.handle.started_at.isoformat(),
            "credential_key": agent.handle.credential_key,
            "creds_file": str(agent.creds_file) if agent.creds_file else None,
        }
        self.state_dir.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        write_private(self._pid_file(agent.handle.agent_id), json.dumps(record))

    def _alive(self, agent: _Agent) -> bool:
        if agent.process is not None:
            return agent.process.returncode is None
        return procfs.is_alive(agent.pid, agent.start_ticks)

    def _signal(self, agent: _Agent, sig: signal.Signals) -> None:
        if agent.process is None and not procfs.is_alive(agent.pid, agent.start_ticks):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(agent.pid, sig)

    async def _watch(self, agent: _Agent) -> None:
        if agent.process is not None:
            agent.exit_code = await agent.process.wait()
        else:
            # not our child: nothing to wait on but its pid
            while procfs.is_alive(agent.pid, agent.start_ticks):  # noqa: ASYNC110
                await asyncio.sleep(self._poll)
        agent.ended.set()
        if agent.stopping:
            return
        log.warning(
            "agent process ended by itself", agent_id=agent.handle.agent_id, code=agent.exit_code
        )
        self._forget(agent)
        for callback in self._callbacks:
            try:
                await callback(agent.handle.agent_id, agent.exit_code)
            except Exception:
                log.exception("agent exit callback failed", agent_id=agent.handle.agent_id)

    def _forget(self, agent: _Agent) -> None:
        agent_id = agent.handle.agent_id
        if self._agents.get(agent_id) is agent:
            del self._agents[agent_id]
            self._exit_codes[agent_id] = agent.exit_code
        with contextlib.suppress(FileNotFoundError):
            self._pid_file(agent_id).unlink()
        if agent.creds_file is not None:
            with contextlib.suppress(FileNotFoundError):
                agent.creds_file.unlink()

    def _find_leftovers(self) -> list[RuntimeHandle]:
        found: dict[str, RuntimeHandle] = {}
        state_dir = self.state_dir
        if state_dir.is_dir():
            for pid_file in sorted(state_dir.glob("*.json")):
                handle = self._from_pid_file(pid_file)
                if handle is not None:
                    found[handle.agent_id] = handle
        seen = {int(h.runtime_id) for h in found.values()}
        for info in procfs.session_leaders():
            if info.pid in seen or info.pid == os.getpid():
                continue
            env = procfs.proc_environ(info.pid) or {}
            agent_id = env.get(ENV_AGENT)
            if env.get(ENV_INSTALL) != self.install_id or not agent_id or agent_id in found:
                continue
            found[agent_id] = RuntimeHandle(
                agent_id=agent_id,
                runtime_id=str(info.pid),
                started_at=dt.datetime.now(dt.UTC),
                install_id=self.install_id,
            )
        return sorted(found.values(), key=lambda h: h.agent_id)

    def _from_pid_file(self, pid_file: Path) -> RuntimeHandle | None:
        try:
            record: dict[str, Any] = json.loads(pid_file.read_text())
            agent_id, pid = str(record["agent_id"]), int(record["pid"])
            ticks = record.get("start_ticks")
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("unreadable agent pid file removed", path=str(pid_file))
            pid_file.unlink(missing_ok=True)
            return None
        if record.get("install_id") != self.install_id:
            return None  # another install's: never touched
        env = procfs.proc_environ(pid)
        labelled = env is None or (
            env.get(ENV_INSTALL) == self.install_id and env.get(ENV_AGENT) == agent_id
        )
        if not procfs.is_alive(pid, ticks) or not labelled:
            pid_file.unlink(missing_ok=True)
            return None
        return RuntimeHandle(
            agent_id=agent_id,
            runtime_id=str(pid),
            started_at=_parse_time(record.get("started_at")),
            install_id=self.install_id,
            credential_key=record.get("credential_key"),
        )


CONTAINER_HOME: Final = PurePosixPath("/home/praktor")
CONTAINER_WORKSPACE: Final = PurePosixPath("/workspace/agent")


def process_file_path(target: str, dirs: AgentDirs) -> Path:
    """Where a secret file's container path lands for a process: under the agent's
    home (``/home/praktor/...``) or workspace (``/workspace/agent/...``)."""
    path = PurePosixPath(target)
    for root, host in ((CONTAINER_HOME, dirs.home), (CONTAINER_WORKSPACE, dirs.workspace)):
        if path.is_relative_to(root) and path != root and ".." not in path.parts:
            return host.joinpath(*path.relative_to(root).parts)
    raise AccessError(
        f"secret file {target}: the process runtime can only place files under "
        f"{CONTAINER_HOME}/ or {CONTAINER_WORKSPACE}/ (use a container runtime for other paths)"
    )


def _switch_user(run_as: RunAs) -> dict[str, Any]:
    if not run_as.switches:
        return {}
    return {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}


def _unusable(python: Path, run_as: RunAs) -> str | None:
    """Why ``run_as`` cannot run ``python``, or None when it can."""
    if not python.exists():
        return "no such file"
    if not run_as.switches:
        return None
    for path in (python, python.resolve()):
        blocked = run_as.first_blocked_parent(path)
        if blocked is not None:
            return f"it cannot pass {blocked}"
    if not run_as.can_execute(python.resolve()):
        return "it may not execute it"
    return None


def _import_path_env() -> dict[str, str]:
    """PYTHONPATH for another interpreter: this process's import path without its stdlib."""
    stdlib = Path(sys.base_prefix).resolve()
    entries = [
        entry
        for entry in sys.path
        if entry and Path(entry).is_dir() and not Path(entry).resolve().is_relative_to(stdlib)
    ]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(entries))} if entries else {}


def _path_for(python: str) -> str:
    return os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"])


def _parse_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(value)
    return dt.datetime.now(dt.UTC)


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 256 * 1024))
            kept = collections.deque(handle.read().splitlines(), maxlen=lines)
    except FileNotFoundError:
        return ""
    return "\n".join(line.decode(errors="replace") for line in kept)
