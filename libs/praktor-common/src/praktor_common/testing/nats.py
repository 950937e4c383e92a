"""pytest fixtures: a private, authenticated NATS server with JetStream.

One server per test session (operator mode, the real permissions, its own
store directory, a free port). Tests connect as a service or an agent:

    async def test_x(nats_server):
        nc = await nats_server.connect("router")
        ...

``fresh_streams`` gives a test the Praktor streams and consumers, empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nats
import pytest
import pytest_asyncio
from nats.js.errors import NotFoundError

from praktor_common import streams
from praktor_common.embedded.nats import EmbeddedNats
from praktor_common.embedded.ports import free_port
from praktor_common.identities import ADMIN_IDENTITY, Authority, Credentials
from praktor_common.identities.permissions import inbox_prefix
from praktor_common.settings import RuntimeSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext


@dataclass
class NatsTestServer:
    """A running nats-server in operator mode, and how to reach it as anyone."""

    authority: Authority
    creds_dir: Path
    embedded: EmbeddedNats
    _clients: list[Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.embedded.url

    def creds_path(self, identity: str) -> Path:
        """The ``.creds`` file of a service (or ``sys-admin``)."""
        path = self.creds_dir / f"{identity}.creds"
        if not path.exists():
            raise KeyError(f"no creds for {identity!r} in {self.creds_dir}")
        return path

    def settings(self, identity: str, **overrides: Any) -> RuntimeSettings:
        """Runtime settings a process of ``identity`` would get from ``praktor up``."""
        values: dict[str, Any] = {
            "nats_url": self.url,
            "nats_creds": self.creds_path(identity),
            "data_dir": self.authority.directory.parent,
        }
        values.update(overrides)
        return RuntimeSettings(**values)

    async def connect(self, identity: str | Credentials, **kwargs: Any) -> Client:
        """Connect as a service (by name) or with minted credentials, with its inbox prefix.

        Connections are closed when the test ends. Pass ``error_cb`` to see
        permission violations (the server reports them asynchronously).
        """
        if isinstance(identity, Credentials):
            creds: Any = identity.raw()
            prefix = identity.inbox_prefix
        else:
            creds = str(self.creds_path(identity))
            prefix = inbox_prefix(identity)
        kwargs.setdefault("name", f"test-{prefix}")
        kwargs.setdefault("connect_timeout", 5)
        kwargs.setdefault("max_reconnect_attempts", 3)
        kwargs.setdefault("reconnect_time_wait", 0.2)
        client: Client = await nats.connect(
            self.url, user_credentials=creds, inbox_prefix=prefix.encode(), **kwargs
        )
        self._clients.append(client)
        return client

    async def close_clients(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            with suppress(Exception):
                await client.close()


def start_nats_server(authority: Authority, directory: Path) -> NatsTestServer:
    """Start a nats-server for ``authority`` with its store and log in ``directory``."""
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "server.conf"
    config.write_text(authority.nats_server_config("127.0.0.1", port, directory / "store"))
    config.chmod(0o600)
    creds_dir = authority.write_service_creds(authority.directory)
    embedded = EmbeddedNats(
        config_file=config, host="127.0.0.1", port=port, log_file=directory / "nats.log"
    )
    embedded.start()
    return NatsTestServer(authority=authority, creds_dir=creds_dir, embedded=embedded)


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]], within: float = 10.0, every: float = 0.02
) -> None:
    """Poll ``check`` (sync or async) until it is true; TimeoutError after ``within`` s."""
    async with asyncio.timeout(within):
        while True:
            result = check()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return
            await asyncio.sleep(every)


async def reset_streams(js: JetStreamContext) -> None:
    """Delete every Praktor stream, then declare them again (empty)."""
    for spec in streams.STREAMS:
        with suppress(NotFoundError):
            await js.delete_stream(spec.name)
    await streams.ensure_streams(js)


@pytest.fixture(scope="session")
def nats_authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    """Operator, accounts and service creds for the test session (a private directory)."""
    return Authority.load_or_create(tmp_path_factory.mktemp("nats-authority") / "nats")


@pytest.fixture(scope="session")
def nats_server(
    nats_authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NatsTestServer]:
    """One authenticated nats-server with JetStream for the whole session."""
    server = start_nats_server(nats_authority, tmp_path_factory.mktemp("nats-server"))
    try:
        yield server
    finally:
        server.embedded.stop()


@pytest_asyncio.fixture
async def nats_clients(nats_server: NatsTestServer) -> AsyncIterator[NatsTestServer]:
    """``nats_server``, closing every connection a test opened through it at the end."""
    try:
        yield nats_server
    finally:
        await nats_server.close_clients()


@pytest_asyncio.fixture
async def fresh_streams(nats_clients: NatsTestServer) -> AsyncIterator[JetStreamContext]:
    """The Praktor streams and durable consumers, empty; a ``cli-admin`` JetStream context."""
    admin = await nats_clients.connect(ADMIN_IDENTITY)
    js = admin.jetstream()
    await reset_streams(js)
    yield js
