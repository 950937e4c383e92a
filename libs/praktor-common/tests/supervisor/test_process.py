"""A supervised process is restarted with backoff and stopped cleanly."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from praktor_common.supervisor.process import (
    RESTART_MAX,
    ManagedProcess,
    restart_delay,
)


def test_restart_delay_doubles_from_half_a_second_up_to_a_cap() -> None:
    assert [restart_delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert restart_delay(50) == RESTART_MAX
    assert restart_delay(0) == 0.0


async def test_output_lines_reach_the_sink_prefixed_by_name_and_the_log_file(
    tmp_path: Path,
) -> None:
    lines: list[tuple[str, str]] = []
    log_file = tmp_path / "svc.log"
    proc = ManagedProcess(
        name="svc",
        argv=[sys.executable, "-c", "print('hello', flush=True); import time; time.sleep(30)"],
        env={},
        sink=lambda name, line: lines.append((name, line)),
        log_file=log_file,
    )
    proc.start()
    for _ in range(100):
        if lines:
            break
        await asyncio.sleep(0.05)
    await proc.stop(grace=5)
    assert ("svc", "hello") in lines
    assert "hello" in log_file.read_text()
    assert proc.state == "stopped"


async def test_a_process_that_dies_is_started_again(tmp_path: Path) -> None:
    marker = tmp_path / "runs"
    script = (
        "import pathlib, sys, time\n"
        f"p = pathlib.Path({str(marker)!r})\n"
        "n = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(n + 1))\n"
        "sys.exit(3) if n == 0 else time.sleep(30)\n"
    )
    lines: list[str] = []
    proc = ManagedProcess(
        name="flaky",
        argv=[sys.executable, "-c", script],
        env={},
        sink=lambda _name, line: lines.append(line),
    )
    proc.start()
    for _ in range(100):
        if marker.exists() and marker.read_text() == "2":
            break
        await asyncio.sleep(0.05)
    first_pid_gone = proc.restarts
    await proc.stop(grace=5)
    assert marker.read_text() == "2"
    assert first_pid_gone == 1
    assert any("exited with code 3; restarting" in line for line in lines)


async def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    lines: list[str] = []
    script = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = ManagedProcess(
        name="stubborn",
        argv=[sys.executable, "-c", script],
        env={},
        sink=lambda _name, line: lines.append(line),
    )
    proc.start()
    for _ in range(100):
        if "up" in lines:
            break
        await asyncio.sleep(0.05)
    await proc.stop(grace=0.5)
    assert proc.process is not None
    assert proc.process.returncode == -9
    assert any("killing it" in line for line in lines)
