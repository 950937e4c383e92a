"""One supervised child process: started, its output prefixed, restarted with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

RESTART_MIN = 0.5
RESTART_MAX = 30.0
HEALTHY_AFTER = 30.0
STOP_GRACE = 15.0


def restart_delay(consecutive_failures: int) -> float:
    """Seconds to wait before restart number ``consecutive_failures`` (1-based)."""
    if consecutive_failures <= 0:
        return 0.0
    return float(min(RESTART_MAX, RESTART_MIN * 2 ** (consecutive_failures - 1)))


LineSink = Callable[[str, str], None]


@dataclass
class ManagedProcess:
    """A child that the supervisor keeps running until told to stop."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    sink: LineSink
    log_file: Path | None = None
    process: asyncio.subprocess.Process | None = field(default=None, init=False)
    restarts: int = field(default=0, init=False)
    state: str = field(default="starting", init=False)
    _stopping: bool = field(default=False, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running(), name=f"supervise-{self.name}")

    async def _spawn(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.argv,
            env=dict(self.env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )

    async def _pump(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        handle = self.log_file.open("a", encoding="utf-8") if self.log_file else None
        try:
            async for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if handle is not None:
                    handle.write(line + "\n")
                    handle.flush()
                self.sink(self.name, line)
        finally:
            if handle is not None:
                handle.close()

    async def _keep_running(self) -> None:
        failures = 0
        while not self._stopping:
            started = time.monotonic()
            try:
                self.process = await self._spawn()
            except OSError as exc:
                self.sink(self.name, f"cannot start: {exc}")
                self.state = "failed"
                return
            self.state = "running"
            pump = asyncio.create_task(self._pump(self.process))
            code = await self.process.wait()
            await pump
            if self._stopping:
                break
            failures = 1 if time.monotonic() - started > HEALTHY_AFTER else failures + 1
            delay = restart_delay(failures)
            self.restarts += 1
            self.state = "restarting"
            self.sink(self.name, f"exited with code {code}; restarting in {delay:.1f}s")
            log.warning("service exited", service=self.name, code=code, restart_in=delay)
            await asyncio.sleep(delay)
        self.state = "stopped"

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM the child, then SIGKILL after ``grace`` seconds."""
        self._stopping = True
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                self.sink(self.name, f"did not stop within {grace:g}s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.state = "stopped"
