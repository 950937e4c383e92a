"""Helpers of the vault tests: calling commands as any identity, watching events."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.contracts.base import Contract
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.testing.nats import NatsTestServer
from praktor_vault.passphrase import Passphrase
from praktor_vault.vault import Vault

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a test value
"""The vault passphrase of the tests."""

RepT = TypeVar("RepT", bound=Contract)


def passphrase(value: str = PASSPHRASE) -> Passphrase:
    return Passphrase(value, "the test")


async def add_agents(engine: AsyncEngine, *agent_ids: str) -> None:
    """Agents as the orchestrator would have synced them from the config."""
    async with session_factory(engine)() as session, session.begin():
        for agent_id in agent_ids:
            await upsert_agent(session, id=agent_id, workspace=agent_id)


async def call(
    client: Client, command: Command[Any, RepT], request: Contract, timeout: float = 15.0
) -> RepT | ServiceError:
    """Send ``command`` the way any caller does: JSON over core request/reply."""
    reply = await client.request(
        command.subject, request.model_dump_json().encode(), timeout=timeout
    )
    return command.parse_reply(reply.data)


async def ok(
    client: Client, command: Command[Any, RepT], request: Contract, timeout: float = 15.0
) -> RepT:
    """The command's reply; fails the test on a :class:`ServiceError`."""
    reply = await call(client, command, request, timeout)
    assert not isinstance(reply, ServiceError), reply
    return reply


async def refused(client: Client, command: Command[Any, Any], request: Contract) -> ServiceError:
    """The :class:`ServiceError` the command answers with; fails the test on success."""
    reply = await call(client, command, request)
    assert isinstance(reply, ServiceError), reply
    return reply


@dataclass
class EventFeed:
    """``events.secret.*`` as the web service sees it."""

    received: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_message(self, msg: Msg) -> None:
        self.raw.append(msg.data)
        self.received.append(json.loads(msg.data))
        self._arrived.set()

    async def wait_for(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """The first ``count`` events (waiting up to ``within`` seconds for them)."""
        async with asyncio.timeout(within):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received


@dataclass
class RunningVault:
    """The vault's handlers on a broker with the vault identity, and clients as anyone."""

    vault: Vault
    broker: NatsBroker
    server: NatsTestServer
    engine: AsyncEngine
    events: EventFeed

    async def client(self, identity: str, **kwargs: Any) -> Client:
        return await self.server.connect(identity, **kwargs)
