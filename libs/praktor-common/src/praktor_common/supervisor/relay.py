"""A TCP relay from the agents' network to a server on the loopback.

With the docker runtime, agent containers sit on a bridge network and cannot
reach 127.0.0.1 of the host, where the embedded NATS and the model proxy listen
(so the rest of the machine's network cannot reach them either). ``praktor up``
relays one port on the bridge's gateway address to each of them instead of
binding them to every interface.

The listening socket is bound with ``IP_FREEBIND``: Podman creates a bridge's
interface only when the first container joins it, so the gateway address may
not exist yet when the suite starts; connections are accepted once it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from typing import Final

import structlog

log = structlog.get_logger(__name__)

IP_FREEBIND: Final = getattr(socket, "IP_FREEBIND", 15)
"""Linux ``IP_FREEBIND`` (Python 3.11 does not export it)."""
CHUNK: Final = 64 * 1024


@dataclass
class TcpRelay:
    """Accepts on ``listen_host:listen_port`` and pipes each connection to the target."""

    listen_host: str
    listen_port: int
    target_host: str
    target_port: int
    _server: asyncio.Server | None = field(default=None, init=False)
    _connections: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    @property
    def address(self) -> str:
        return f"{self.listen_host}:{self.listen_port}"

    async def start(self) -> None:
        """Listen (raises ``OSError`` when the address cannot be bound)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):  # not Linux: the address must exist already
                sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            sock.bind((self.listen_host, self.listen_port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._server = await asyncio.start_server(self._accepted, sock=sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:
            # the relay is closing; ending here keeps asyncio's stream callback from
            # reporting the cancellation as an error of this connection
            writer.close()
        finally:
            self._connections.discard(task)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError as exc:
            log.warning("relay target did not answer", relay=self.address, error=str(exc))
            writer.close()
            return
        pipes = [
            asyncio.create_task(_pipe(reader, upstream_writer)),
            asyncio.create_task(_pipe(upstream_reader, writer)),
        ]
        try:
            # when either side is done, the connection is over
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            for end in (writer, upstream_writer):
                end.close()
                with contextlib.suppress(OSError):
                    await end.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
