"""Processes a crashed ``praktor up`` left behind, stopped before a new one starts.

When the supervisor itself is killed (``kill -9``, a power cut of the terminal),
its services, NATS and PostgreSQL keep running in their own sessions and
would hold the ports and the data directory's locks. The next ``praktor up``
finds them in the recorded state and stops them — only processes whose command
line shows they belong to this data directory or are Praktor services, so a
recycled pid is never touched.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from praktor_common.supervisor.state import SuiteState, pid_alive


def command_line(pid: int) -> str:
    """The process's command line, or "" when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace")


def _ours(pid: int, markers: Iterable[str]) -> bool:
    cmd = command_line(pid)
    return bool(cmd) and any(marker in cmd for marker in markers)


def leftover_pids(state: SuiteState, data_dir: Path) -> list[list[int]]:
    """Pids recorded by a dead supervisor that are still alive and still ours.

    In the order to stop them: the services first, then the servers they use.
    """
    services = [
        svc.pid
        for svc in state.services
        if svc.pid and pid_alive(svc.pid) and _ours(svc.pid, (f"service {svc.name}",))
    ]
    servers = [
        pid
        for pid in (state.nats_pid, state.postgres_pid)
        if pid and pid_alive(pid) and _ours(pid, (str(data_dir),))
    ]
    return [services, servers]


def reap(state: SuiteState, data_dir: Path) -> int:
    """Stop what a dead supervisor left running; the number of processes stopped."""
    services, servers = leftover_pids(state, data_dir)
    stop_pids(services)
    stop_pids(servers, sig=signal.SIGINT)
    return len(services) + len(servers)


def stop_pids(pids: list[int], grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to each pid, then SIGKILL the ones still alive after ``grace`` seconds.

    For PostgreSQL send SIGINT (its fast shutdown); SIGTERM waits for clients.
    """
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
