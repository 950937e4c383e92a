"""The relay that serves loopback-only servers to agent containers on their network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from praktor_common.embedded.ports import free_port
from praktor_common.supervisor.relay import TcpRelay

LIMIT = 1 << 20


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    """A server on the loopback that answers every line with ``echo: <line>``."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(b"echo: " + line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, limit=LIMIT)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


async def test_each_connection_is_piped_both_ways_to_the_target(echo_port: int) -> None:
    relay = TcpRelay("127.0.0.1", free_port(), "127.0.0.1", echo_port)
    await relay.start()
    try:
        clients = [
            await asyncio.open_connection("127.0.0.1", relay.listen_port, limit=LIMIT)
            for _ in range(3)
        ]
        for n, (_, writer) in enumerate(clients):
            writer.write(f"hello {n}\n".encode() + b"x" * 200_000 + b"\n")
        for n, (reader, _) in enumerate(clients):
            assert await reader.readline() == f"echo: hello {n}\n".encode()
            assert len(await reader.readline()) == len(b"echo: ") + 200_001
        for _, writer in clients:
            writer.close()
    finally:
        await relay.close()


async def test_closing_the_relay_ends_its_open_connections(echo_port: int) -> None:
    relay = TcpRelay("127.0.0.1", free_port(), "127.0.0.1", echo_port)
    await relay.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", relay.listen_port)
    writer.write(b"ping\n")
    assert await reader.readline() == b"echo: ping\n"

    await asyncio.wait_for(relay.close(), 5)

    assert await asyncio.wait_for(reader.read(), 5) == b""
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", relay.listen_port)
    writer.close()


async def test_a_target_that_does_not_answer_closes_the_client_connection() -> None:
    relay = TcpRelay("127.0.0.1", free_port(), "127.0.0.1", free_port())
    await relay.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.listen_port)
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await relay.close()


async def test_an_address_that_does_not_exist_yet_can_be_listened_on() -> None:
    """Podman creates a bridge's interface with its first container; the relay binds first."""
    relay = TcpRelay("10.254.254.1", free_port(), "127.0.0.1", free_port())
    await relay.start()
    await relay.close()


async def test_a_port_in_use_is_an_error_at_start(echo_port: int) -> None:
    relay = TcpRelay("127.0.0.1", echo_port, "127.0.0.1", echo_port)
    with pytest.raises(OSError, match="in use"):
        await relay.start()
