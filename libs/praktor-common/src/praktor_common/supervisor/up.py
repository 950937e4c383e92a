"""``praktor up``: bring the whole suite up on one machine and keep it up.

NATS and PostgreSQL are embedded (started from their PyPI wheels on free ports
recorded in the data directory) unless ``PRAKTOR_NATS_URL`` /
``PRAKTOR_DATABASE_URL`` say where they are; a server that was neither started
here nor configured is never used. Each service runs as its own process with
its own bus identity, restarted with backoff when it dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

from praktor_common.cli.admin import ADMIN_IDENTITY, connect_admin
from praktor_common.config.distribution import ConfigPublisher
from praktor_common.config.loader import load_config
from praktor_common.config.model import PraktorConfig
from praktor_common.db.migrate import upgrade
from praktor_common.embedded.nats import EmbeddedNats
from praktor_common.embedded.ports import free_port, port_is_free
from praktor_common.embedded.postgres import EmbeddedPostgres
from praktor_common.identities import Authority
from praktor_common.runtime.logging import configure_logging
from praktor_common.settings import RuntimeSettings
from praktor_common.streams import ensure_streams
from praktor_common.supervisor.agent_network import (
    DEFAULT_NETWORK,
    AgentEndpoints,
    AgentNetworkError,
    agent_endpoints,
)
from praktor_common.supervisor.layout import (
    DataLayout,
    FirstRunSecret,
    ensure_install_id,
    ensure_secret,
    load_ports,
    save_ports,
)
from praktor_common.supervisor.leftovers import reap
from praktor_common.supervisor.process import ManagedProcess
from praktor_common.supervisor.relay import TcpRelay
from praktor_common.supervisor.runtime_choice import RuntimeChoiceError, choose_runtime
from praktor_common.supervisor.services import installed_services
from praktor_common.supervisor.state import (
    ServiceEntry,
    SuiteState,
    pid_alive,
    read_state,
    write_state,
)

READY_TIMEOUT = 120.0


class UpError(RuntimeError):
    """``praktor up`` cannot go on; the message says what to do."""


@dataclass
class Suite:
    settings: RuntimeSettings
    layout: DataLayout
    console: Console
    config: PraktorConfig | None = None
    install_id: str = ""
    nats_url: str = ""
    nats_embedded: bool = False
    nats_pid: int | None = None
    postgres_pid: int | None = None
    database_url: str = ""
    database_embedded: bool = False
    runtime: str = "process"
    runtime_note: str = ""
    engine_socket: str | None = None
    agent_endpoints: AgentEndpoints | None = None
    agent_env: dict[str, str] = field(default_factory=dict)
    """What the orchestrator is told about reaching the agents (docker runtime)."""
    creds_dir: Path | None = None
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    health_urls: dict[str, str] = field(default_factory=dict)
    first_run: list[FirstRunSecret] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def mission_control_url(self) -> str:
        port = self.config.web.port if self.config else 8080
        return f"http://127.0.0.1:{port}"

    def state(self) -> SuiteState:
        return SuiteState(
            supervisor_pid=os.getpid(),
            started_at=self.started_at,
            install_id=self.install_id,
            mission_control_url=self.mission_control_url,
            nats_url=self.nats_url,
            nats_embedded=self.nats_embedded,
            database_embedded=self.database_embedded,
            runtime=self.runtime,
            runtime_note=self.runtime_note,
            nats_pid=self.nats_pid,
            postgres_pid=self.postgres_pid,
            services=[
                ServiceEntry(
                    name=name,
                    pid=proc.pid,
                    health_url=self.health_urls[name],
                    restarts=proc.restarts,
                    state=proc.state,
                )
                for name, proc in self.processes.items()
            ],
        )


def _pick_port(ports: dict[str, int], key: str, preferred: int | None = None) -> int:
    previous = ports.get(key)
    for candidate in (previous, preferred):
        if candidate and port_is_free(candidate):
            ports[key] = candidate
            return candidate
    ports[key] = free_port()
    return ports[key]


def _take_over_data_dir(layout: DataLayout, console: Console) -> None:
    """Refuse a second supervisor; stop what a crashed one left behind."""
    state = read_state(layout.state_file)
    if state is None:
        return
    if pid_alive(state.supervisor_pid) and state.supervisor_pid != os.getpid():
        raise UpError(
            f"Praktor is already running on {layout.root} (pid {state.supervisor_pid}); "
            "see `praktor status`, or stop it with Ctrl-C in its terminal"
        )
    stopped = reap(state, layout.root)
    if stopped:
        console.print(
            f"[yellow]![/] stopped {stopped} process(es) left running by a previous "
            "`praktor up` that did not exit cleanly"
        )


async def _start_nats(suite: Suite, stack: AsyncExitStack, ports: dict[str, int]) -> None:
    settings = suite.settings
    if settings.nats_url:
        suite.nats_url = settings.nats_url
        creds_dir = os.environ.get("PRAKTOR_NATS_CREDS_DIR")
        if not creds_dir:
            raise UpError(
                "PRAKTOR_NATS_URL is set but PRAKTOR_NATS_CREDS_DIR is not: point it at the "
                "directory holding one <service>.creds file per service "
                "(`praktor identities init DIR` writes them to DIR/creds)"
            )
        suite.creds_dir = Path(creds_dir)
        return
    authority = Authority.load_or_create(suite.layout.nats_dir)
    port = _pick_port(ports, "nats", 4222)
    conf = suite.layout.nats_dir / "server.conf"
    conf.write_text(
        authority.nats_server_config(
            host="127.0.0.1", port=port, store_dir=suite.layout.nats_dir / "store"
        )
    )
    conf.chmod(0o600)
    suite.creds_dir = authority.write_service_creds(suite.layout.nats_dir)
    server = EmbeddedNats(
        config_file=conf, host="127.0.0.1", port=port, log_file=suite.layout.log_dir / "nats.log"
    )
    await asyncio.to_thread(server.start)
    stack.callback(server.stop)
    suite.nats_url = server.url
    suite.nats_pid = server.process.pid if server.process else None
    suite.nats_embedded = True
    suite.console.print(f"[green]✓[/] NATS (embedded, JetStream, authenticated) on {server.url}")


async def _reach_agents(suite: Suite, stack: AsyncExitStack) -> None:
    """Docker runtime: the agents' network exists, and NATS and the model proxy are served
    on it (relayed from the loopback, where they listen); the orchestrator is told the URLs."""
    if suite.runtime != "docker":
        return
    assert suite.config is not None
    network = os.environ.get("PRAKTOR_AGENT_NETWORK") or DEFAULT_NETWORK
    try:
        endpoints = await agent_endpoints(
            f"unix://{suite.engine_socket}" if suite.engine_socket else None,
            network,
            suite.install_id,
        )
    except AgentNetworkError as exc:
        raise UpError(str(exc)) from None
    nats_port = int(suite.nats_url.rsplit(":", 1)[1])
    proxy_port = suite.config.model_proxy.port
    relayed = [(proxy_port, "the model proxy")]
    if suite.nats_embedded:  # an external NATS (PRAKTOR_NATS_URL) is the user's to expose
        relayed.insert(0, (nats_port, "NATS"))
    if endpoints.relayed:
        for port, what in relayed:
            relay = TcpRelay(endpoints.host, port, "127.0.0.1", port)
            try:
                await relay.start()
            except OSError as exc:
                raise UpError(
                    f"cannot serve {what} to agents on {relay.address} ({exc.strerror or exc}); "
                    "free the port, or set PRAKTOR_AGENT_NETWORK to another network"
                ) from None
            stack.push_async_callback(relay.close)
    suite.agent_endpoints = endpoints
    suite.agent_env = {
        "PRAKTOR_AGENT_NETWORK": network,
        "PRAKTOR_MODEL_PROXY_URL": endpoints.http_url(proxy_port),
    }
    if suite.nats_embedded:
        suite.agent_env["PRAKTOR_AGENT_NATS_URL"] = endpoints.nats_url(nats_port)
    served = " and ".join(what for _, what in relayed)
    suite.console.print(
        f"[green]✓[/] agent containers reach {served} at {endpoints.host} (network {network})"
    )


async def _start_postgres(suite: Suite, stack: AsyncExitStack, ports: dict[str, int]) -> None:
    if suite.settings.database_url:
        suite.database_url = suite.settings.database_url
        suite.console.print("[green]✓[/] PostgreSQL at PRAKTOR_DATABASE_URL")
        return
    password = ensure_secret("PostgreSQL password", suite.layout.postgres_password_file)
    port = _pick_port(ports, "postgres", 5432)
    server = EmbeddedPostgres(suite.layout.postgres_dir, port=port, password=password.value)
    suite.console.print("… starting PostgreSQL (embedded)")
    await asyncio.to_thread(server.start)
    stack.callback(server.stop)
    suite.database_url = server.url
    suite.postgres_pid = server.process.pid if server.process else None
    suite.database_embedded = True
    suite.console.print(f"[green]✓[/] PostgreSQL (embedded) on 127.0.0.1:{port}")


def _service_env(suite: Suite, name: str, health_port: int) -> dict[str, str]:
    assert suite.creds_dir is not None
    env = dict(os.environ)
    env.update(
        {
            "PRAKTOR_DATA_DIR": str(suite.layout.root),
            "PRAKTOR_CONFIG": str(suite.settings.config_path()),
            "PRAKTOR_NATS_URL": suite.nats_url,
            "PRAKTOR_NATS_CREDS": str(suite.creds_dir / f"{name}.creds"),
            "PRAKTOR_DATABASE_URL": suite.database_url,
            "PRAKTOR_INSTALL_ID": suite.install_id,
            "PRAKTOR_HEALTH_PORT": str(health_port),
            "PRAKTOR_AGENT_RUNTIME": suite.runtime,
            "PYTHONUNBUFFERED": "1",
            "PRAKTOR_SUPERVISOR_PID": str(os.getpid()),
        }
    )
    if suite.engine_socket:
        env["DOCKER_HOST"] = f"unix://{suite.engine_socket}"
    if name == "orchestrator":
        for key, value in suite.agent_env.items():
            env.setdefault(key, value)  # what the user set wins
    if name == "vault":
        env["PRAKTOR_VAULT_PASSPHRASE_FILE"] = str(suite.layout.vault_passphrase_file)
    if name == "web":
        env["PRAKTOR_WEB_PASSWORD_FILE"] = str(suite.layout.web_password_file)
    return env


def _line_printer(console: Console) -> Callable[[str, str], None]:
    width = max(len(n) for n in installed_services()) if installed_services() else 10

    def sink(name: str, line: str) -> None:
        console.print(
            f"[cyan]{name:<{width}}[/] │ {line}", markup=True, highlight=False, soft_wrap=True
        )

    return sink


async def _wait_ready(suite: Suite, timeout: float = READY_TIMEOUT) -> dict[str, bool]:
    deadline = time.monotonic() + timeout
    ready = dict.fromkeys(suite.processes, False)
    async with httpx.AsyncClient(timeout=2.0) as client:
        with suite.console.status("waiting for services to be ready…") as status:
            while time.monotonic() < deadline and not all(ready.values()):
                for name in suite.processes:
                    if ready[name]:
                        continue
                    with suppress(httpx.HTTPError):
                        response = await client.get(suite.health_urls[name] + "/readyz")
                        ready[name] = response.status_code == 200
                waiting = [n for n, ok in ready.items() if not ok]
                status.update(f"waiting for {', '.join(waiting)}…" if waiting else "ready")
                if waiting:
                    await asyncio.sleep(0.3)
    return ready


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


def _print_summary(suite: Suite, ready: dict[str, bool]) -> None:
    from rich.table import Table

    table = Table(title="Praktor services", show_lines=False)
    table.add_column("service")
    table.add_column("state")
    table.add_column("pid", justify="right")
    table.add_column("health")
    for name, proc in suite.processes.items():
        table.add_row(
            name,
            "[green]ready[/]" if ready.get(name) else "[yellow]not ready[/]",
            str(proc.pid or "-"),
            suite.health_urls[name],
        )
    suite.console.print(table)
    if suite.runtime_note:
        suite.console.print(f"[yellow]warning:[/] {suite.runtime_note}")
    elif suite.runtime == "process":
        suite.console.print(
            "[yellow]warning:[/] agents run as plain processes (PRAKTOR_AGENT_RUNTIME=process) "
            "and are NOT isolated from each other."
        )
    elif suite.agent_endpoints is not None:
        suite.console.print(
            f"[green]✓[/] agents run in containers on the network {suite.agent_endpoints.network}"
        )
    suite.console.print(f"\nMission Control: [bold]{suite.mission_control_url}[/]")
    if not _answers(suite.mission_control_url):
        suite.console.print(
            "[yellow]note:[/] the web service does not serve the Mission Control app on this "
            "port yet; its health and status are above and in `praktor status`."
        )
    for secret in suite.first_run:
        if secret.created:
            suite.console.print(
                f"{secret.name} (shown once, stored in {secret.path}): [bold]{secret.value}[/]"
            )
    suite.console.print("Stop with Ctrl-C. `praktor status` shows the state.")


async def run_up(settings: RuntimeSettings | None = None, console: Console | None = None) -> None:
    settings = settings or RuntimeSettings()
    console = console or Console()
    configure_logging("up", settings.log_level, "console")
    layout = DataLayout(settings.data_dir)
    layout.create()
    _take_over_data_dir(layout, console)
    suite = Suite(settings=settings, layout=layout, console=console)
    config_path = settings.config_path()
    suite.config = load_config(config_path)
    suite.install_id = settings.install_id or ensure_install_id(layout)
    suite.first_run = [
        ensure_secret("Mission Control password", layout.web_password_file),
        ensure_secret("Vault passphrase", layout.vault_passphrase_file, nbytes=32),
    ]
    console.print(f"Praktor data in {layout.root} (install {suite.install_id})")
    try:
        choice = await asyncio.to_thread(
            choose_runtime,
            os.environ.get("PRAKTOR_AGENT_RUNTIME", "auto"),
            suite.config.defaults.image,
        )
    except RuntimeChoiceError as exc:
        raise UpError(str(exc)) from None
    suite.runtime, suite.engine_socket, suite.runtime_note = (
        choice.runtime,
        choice.engine_socket,
        choice.note,
    )
    if suite.runtime_note:
        console.print(f"[yellow]![/] {suite.runtime_note}")
    ports = load_ports(layout)
    stop = asyncio.Event()
    reload_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_requested.set)

    async with AsyncExitStack() as stack:
        await _start_nats(suite, stack, ports)
        await _reach_agents(suite, stack)
        await _start_postgres(suite, stack, ports)
        save_ports(layout, ports)
        write_state(layout.state_file, suite.state())
        with console.status("applying database migrations…"):
            await upgrade(suite.database_url)
        console.print("[green]✓[/] database schema up to date")
        assert suite.creds_dir is not None
        admin = await connect_admin(
            settings.model_copy(
                update={
                    "nats_url": suite.nats_url,
                    "nats_creds": suite.creds_dir / f"{ADMIN_IDENTITY}.creds",
                }
            )
        )
        stack.push_async_callback(admin.close)
        js = admin.jetstream()
        await ensure_streams(js)
        publisher = ConfigPublisher(config_path, js)
        await publisher.publish()
        console.print(f"[green]✓[/] config published from {config_path}")
        watcher = asyncio.create_task(publisher.watch())
        stack.callback(watcher.cancel)

        sink = _line_printer(console)
        assert suite.config is not None
        health_ports = suite.config.ports.health_ports()
        for name, spec in installed_services().items():
            port = health_ports.get(name, spec.default_health_port)
            suite.health_urls[name] = f"http://127.0.0.1:{port}"
            argv = [sys.executable, "-m", "praktor_common.cli.main", "service", name]
            proc = ManagedProcess(
                name=name,
                argv=argv,
                env=_service_env(suite, name, port),
                sink=sink,
                log_file=layout.log_dir / f"{name}.log",
            )
            suite.processes[name] = proc
            proc.start()
        stack.push_async_callback(_stop_all, suite)
        stack.callback(lambda: layout.state_file.unlink(missing_ok=True))
        recorder = asyncio.create_task(_record_state(suite))
        stack.callback(recorder.cancel)

        ready = await _wait_ready(suite)
        _print_summary(suite, ready)
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            if reload_requested.is_set():
                reload_requested.clear()
                publisher.trigger()
        console.print("stopping…")


async def _record_state(suite: Suite, every: float = 0.5) -> None:
    """Keep the state file (pids change on restarts) current for `praktor status`."""
    while True:
        write_state(suite.layout.state_file, suite.state())
        await asyncio.sleep(every)


async def _stop_all(suite: Suite) -> None:
    await asyncio.gather(*(proc.stop() for proc in suite.processes.values()))
    suite.console.print("[green]✓[/] all services stopped")
