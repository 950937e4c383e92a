"""Boot the whole suite with ``praktor up`` as a separate process and drive it from outside.

Each :class:`Suite` gets its own data directory, its own config file with free
ports, and its own embedded NATS and PostgreSQL; nothing is shared with the
machine or with another test run. Later issues add scenarios on top of this.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml
from nats.aio.client import Client

from praktor_common.cli.admin import ADMIN_IDENTITY, connect_admin
from praktor_common.embedded.ports import free_port
from praktor_common.embedded.postgres import DATABASE as PG_DATABASE
from praktor_common.embedded.postgres import ROLE as PG_ROLE
from praktor_common.settings import RuntimeSettings
from praktor_common.supervisor.leftovers import reap
from praktor_common.supervisor.state import read_state

SERVICES = (
    "gateway-telegram",
    "router",
    "orchestrator",
    "scheduler",
    "swarm",
    "vault",
    "model-proxy",
    "web",
)


def base_config() -> dict[str, Any]:
    """A config with every listening port free on this machine."""
    health = {name.replace("-", "_"): free_port() for name in SERVICES}
    return {
        "timezone": "UTC",
        "web": {"port": free_port()},
        "model_proxy": {"port": free_port()},
        "ports": {"health": health},
        "agents": {"general": {"description": "General assistant"}},
        "router": {"default_agent": "general"},
    }


@dataclass
class Suite:
    """A running ``praktor up`` and what it printed."""

    data_dir: Path
    config_path: Path
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None
    _health_urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, config: dict[str, Any] | None = None) -> Suite:
        data_dir = root / "data"
        config_path = root / "praktor.yaml"
        config_path.write_text(yaml.safe_dump(config or base_config()))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKTOR_")}
        env.update(
            {
                "PRAKTOR_DATA_DIR": str(data_dir),
                "PRAKTOR_CONFIG": str(config_path),
                "PRAKTOR_LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
                "COLUMNS": "200",
            }
        )
        return cls(data_dir=data_dir, config_path=config_path, env=env)

    def praktor(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a ``praktor`` command against this suite's data directory."""
        return subprocess.run(
            [sys.executable, "-m", "praktor_common.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, timeout: float = 180) -> None:
        self.lines.clear()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "praktor_common.cli.main", "up"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda: self.all_ready(), timeout, "every service ready")

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def status(self) -> dict[str, Any]:
        result = self.praktor("status", "--json")
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def services(self) -> dict[str, dict[str, Any]]:
        return {svc["name"]: svc for svc in self.status()["services"]}

    def all_ready(self) -> bool:
        """Every service answers ``/readyz`` with 200 (read from the state `praktor up` keeps).

        Polling goes straight to the health endpoints rather than through
        ``praktor status`` so the test does not load the two cores it measures.
        """
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"praktor up exited with {self.process.returncode}:\n{self.output()[-4000:]}"
            )
        state = read_state(self.data_dir / "run" / "state.json")
        if state is None or {svc.name for svc in state.services} != set(SERVICES):
            return False
        if self.process is None or state.supervisor_pid != self.process.pid:
            return False  # a state left by an earlier supervisor
        if not all(svc.pid for svc in state.services):
            return False
        try:
            return all(
                httpx.get(svc.health_url + "/readyz", timeout=2).status_code == 200
                for svc in state.services
            )
        except httpx.HTTPError:
            return False

    def readyz(self, service: str) -> dict[str, Any]:
        """The service's own ``/readyz`` body (health URLs do not change while it runs)."""
        if service not in self._health_urls:
            self._health_urls.update(
                {name: svc["health_url"] for name, svc in self.services().items()}
            )
        url = self._health_urls[service]
        body: dict[str, Any] = httpx.get(url + "/readyz", timeout=5).json()
        return body

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.5)
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what}:\n{self.output()[-6000:]}"
        )

    def stop(self, timeout: float = 60) -> int:
        if self.process is None:
            self.reap()
            return 0
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        code = self.process.returncode
        self.process = None
        self.reap()
        return code

    # -- driving the suite from outside ------------------------------------------------------

    def nats_url(self) -> str:
        state = read_state(self.data_dir / "run" / "state.json")
        if state is None:
            raise AssertionError("the suite has written no state.json: is it running?")
        return state.nats_url

    def admin_creds(self) -> Path:
        """The CLI's admin credentials (what ``praktor`` commands connect with)."""
        return self.data_dir / "nats" / "creds" / f"{ADMIN_IDENTITY}.creds"

    async def connect_admin(self) -> Client:
        """A bus connection with the admin identity, as the ``praktor`` CLI makes it."""
        return await connect_admin(
            RuntimeSettings(nats_url=self.nats_url(), nats_creds=self.admin_creds())
        )

    def database_url(self) -> str:
        """SQLAlchemy URL of the suite's embedded PostgreSQL."""
        ports = json.loads((self.data_dir / "run" / "ports.json").read_text())
        password = (self.data_dir / "secrets" / "postgres-password").read_text().strip()
        return (
            f"postgresql+asyncpg://{PG_ROLE}:{quote(password, safe='')}"
            f"@127.0.0.1:{ports['postgres']}/{PG_DATABASE}"
        )

    def service_pid(self, name: str) -> int:
        pid = self.services()[name]["pid"]
        if not pid:
            raise AssertionError(f"{name} has no pid")
        return int(pid)

    def restart_service(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        """Signal one service and wait until the supervisor has it ready again."""
        before = self.service_pid(name)
        os.kill(before, sig)

        def back() -> bool:
            svc = self.services()[name]
            return bool(svc["ready"] and svc["pid"] and svc["pid"] != before)

        self.wait_for(back, 60, f"{name} restarted and ready")

    def reap(self) -> None:
        """Stop whatever a killed supervisor of this suite left running."""
        state = read_state(self.data_dir / "run" / "state.json")
        if state is not None:
            reap(state, self.data_dir)
