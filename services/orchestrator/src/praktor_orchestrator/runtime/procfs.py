"""Reading processes from ``/proc`` (Linux): identity checks that survive pid reuse."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    session: int
    start_ticks: int
    """Clock ticks after boot when the process started: with the pid, a unique identity."""


def proc_stat(pid: int) -> ProcStat | None:
    """The process's session and start time, or None when it does not exist (or is a zombie)."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return ProcStat(pid=pid, session=int(fields[3]), start_ticks=int(fields[19]))


def proc_environ(pid: int) -> dict[str, str] | None:
    """The environment a process started with, or None when it cannot be read."""
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    env: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep:
            env[name.decode(errors="replace")] = value.decode(errors="replace")
    return env


def is_alive(pid: int, start_ticks: int | None) -> bool:
    """True when ``pid`` runs and (if known) is the process that started at ``start_ticks``."""
    if PROC.is_dir():
        info = proc_stat(pid)
        return info is not None and (start_ticks is None or info.start_ticks == start_ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def session_leaders() -> Iterator[ProcStat]:
    """Every process that leads its own session (how agent-runners are started)."""
    if not PROC.is_dir():
        return
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        info = proc_stat(int(entry.name))
        if info is not None and info.session == info.pid:
            yield info
