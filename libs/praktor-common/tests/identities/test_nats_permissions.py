"""What the real nats-server lets each identity do (operator mode, our JWTs)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from praktor_common import streams, subjects
from praktor_common.identities import (
    SERVICES,
    SYSTEM_IDENTITY,
    AgentCredentialIssuer,
    Credentials,
    connect_system,
)
from praktor_common.testing.nats import NatsTestServer

pytestmark = pytest.mark.integration


class Violations:
    """Collects the errors the server reports asynchronously (``-ERR``)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._changed = asyncio.Event()

    async def on_error(self, error: Exception) -> None:
        self.errors.append(str(error))
        self._changed.set()

    async def expect(self, message: str, within: float = 3.0) -> None:
        try:
            async with asyncio.timeout(within):
                while message not in self.errors:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"expected {message!r}, the server said {self.errors}") from None


# nats-py reports the server's -ERR in lower case (subject included)
def sub_denied(subject: str) -> str:
    return f'nats: permissions violation for subscription to "{subject.lower()}"'


def pub_denied(subject: str) -> str:
    return f'nats: permissions violation for publish to "{subject.lower()}"'


@pytest.mark.parametrize("identity", [*SERVICES, SYSTEM_IDENTITY])
async def test_every_service_creds_file_connects(
    nats_clients: NatsTestServer, identity: str
) -> None:
    if identity == SYSTEM_IDENTITY:
        nc = await connect_system(nats_clients.authority, nats_clients.url)
        try:
            await nc.flush(timeout=2)
            assert nc.is_connected
        finally:
            await nc.close()
        return
    nc = await nats_clients.connect(identity)
    await nc.flush(timeout=2)
    assert nc.is_connected


@pytest.mark.parametrize("service", [d.service for d in streams.DURABLE_CONSUMERS])
async def test_a_service_can_declare_and_pull_its_own_consumers(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer, service: str
) -> None:
    nc = await nats_clients.connect(service)
    js = nc.jetstream()
    outcome = await streams.ensure_consumers(js, service)
    assert outcome
    assert set(outcome.values()) == {"unchanged"}
    part = streams.durable_consumers(service)[0].partitions[0]
    sub = await js.pull_subscribe_bind(part.name, stream=part.stream)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=0.3)


async def test_services_read_the_config_kv_but_only_the_admin_writes_it(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    kv = await fresh_streams.create_key_value(bucket=subjects.CONFIG_KV_BUCKET)
    await kv.put(subjects.CONFIG_KV_KEY, b'{"v": 1}')
    for service in ("router", "vault", "model-proxy"):
        violations = Violations()
        nc = await nats_clients.connect(service, error_cb=violations.on_error)
        store = await nc.jetstream().key_value(subjects.CONFIG_KV_BUCKET)
        assert (await store.get(subjects.CONFIG_KV_KEY)).value == b'{"v": 1}'
        watcher = await store.watch(subjects.CONFIG_KV_KEY)
        entry = await watcher.updates(timeout=2)  # type: ignore[no-untyped-call]
        assert entry is not None
        assert entry.value == b'{"v": 1}'
        await watcher.stop()  # type: ignore[no-untyped-call]
        await nc.publish(f"$KV.{subjects.CONFIG_KV_BUCKET}.{subjects.CONFIG_KV_KEY}", b"{}")
        await violations.expect(pub_denied(f"$KV.{subjects.CONFIG_KV_BUCKET}.current"))


async def test_services_are_confined_to_their_roles(nats_clients: NatsTestServer) -> None:
    violations = Violations()
    router = await nats_clients.connect("router", error_cb=violations.on_error)
    await router.subscribe("agent.*.output")
    await violations.expect(sub_denied("agent.*.output"))
    await router.subscribe("_INBOX_orchestrator.>")
    await violations.expect(sub_denied("_INBOX_orchestrator.>"))

    gateway_violations = Violations()
    gateway = await nats_clients.connect("gateway-telegram", error_cb=gateway_violations.on_error)
    await gateway.publish("inbound.web.42", b"{}")
    await gateway_violations.expect(pub_denied("inbound.web.42"))

    web_violations = Violations()
    web = await nats_clients.connect("web", error_cb=web_violations.on_error)
    await web.publish("svc.vault.resolve", b"{}")
    await web_violations.expect(pub_denied("svc.vault.resolve"))


# --- agents ------------------------------------------------------------------------------


async def _agent_setup(nats_clients: NatsTestServer, js: JetStreamContext, agent_id: str) -> None:
    orchestrator = await nats_clients.connect("orchestrator")
    assert await streams.ensure_agent_consumer(orchestrator.jetstream(), agent_id) == "created"


async def test_an_agent_works_its_own_subjects_end_to_end(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    await _agent_setup(nats_clients, fresh_streams, "coder")
    creds = nats_clients.authority.mint_agent_credentials("coder", timedelta(minutes=10))
    violations = Violations()
    agent = await nats_clients.connect(creds, error_cb=violations.on_error)
    agent_js = agent.jetstream()

    # the router queues a turn; the agent pulls it from its own consumer and acknowledges
    router = await nats_clients.connect("router")
    await router.jetstream().publish(subjects.agent_input("coder"), b'{"turn": 1}')
    sub = await agent_js.pull_subscribe_bind(
        streams.agent_consumer_name("coder"), stream=streams.AGENT_INPUT
    )
    [turn] = await sub.fetch(1, timeout=3)
    assert turn.data == b'{"turn": 1}'
    await turn.ack_sync()

    # output and readiness go into / through the bus
    ack = await agent_js.publish(subjects.agent_output("coder"), b'{"type": "result"}')
    assert ack.stream == streams.AGENT_OUTPUT
    await agent.publish(subjects.agent_ready("coder"), b'{"status": "ready"}')

    # the orchestrator's control request is answered (allow_responses)
    async def answer(msg: Msg) -> None:
        await msg.respond(b'{"status": "ok"}')

    await agent.subscribe(subjects.agent_control("coder"), cb=answer)
    await agent.flush()
    orchestrator = await nats_clients.connect("orchestrator")
    reply = await orchestrator.request(subjects.agent_control("coder"), b"{}", timeout=2)
    assert json.loads(reply.data) == {"status": "ok"}

    # the agent's IPC request is answered by the orchestrator on the agent's own inbox
    async def ipc(msg: Msg) -> None:
        await msg.respond(b'{"ok": true}')

    await orchestrator.subscribe(subjects.HOST_IPC_ALL, cb=ipc)
    await orchestrator.flush()
    answer_msg = await agent.request(subjects.host_ipc("coder"), b"{}", timeout=2)
    assert json.loads(answer_msg.data) == {"ok": True}
    await agent.flush()
    assert violations.errors == []


@pytest.mark.parametrize(
    ("operation", "subject", "expected"),
    [
        ("sub", "agent.writer.input", sub_denied),
        ("sub", "agent.writer.output", sub_denied),
        ("sub", "agent.*.output", sub_denied),
        ("sub", "_INBOX.>", sub_denied),
        ("sub", "_INBOX_agent_writer.>", sub_denied),
        ("sub", "_INBOX_orchestrator.>", sub_denied),
        ("sub", "svc.vault.>", sub_denied),
        ("sub", "host.ipc.*", sub_denied),
        ("pub", "host.ipc.writer", pub_denied),
        ("pub", "agent.writer.output", pub_denied),
        ("pub", "agent.writer.input", pub_denied),
        ("pub", "svc.vault.resolve", pub_denied),
        ("pub", "deliver.telegram.42", pub_denied),
        ("pub", "$JS.API.CONSUMER.MSG.NEXT.AGENT_INPUT.agent-writer", pub_denied),
        ("pub", "$JS.API.CONSUMER.CREATE.AGENT_INPUT.sneaky.agent.writer.input", pub_denied),
        ("pub", "$JS.API.STREAM.MSG.GET.AGENT_INPUT", pub_denied),
        # reading or re-creating another agent's own consumer, by its real name
        ("pub", "$JS.API.CONSUMER.INFO.AGENT_INPUT.agent-writer", pub_denied),
        ("pub", "$JS.API.CONSUMER.CREATE.AGENT_INPUT.agent-writer.agent.writer.input", pub_denied),
        ("pub", "$JS.ACK.AGENT_INPUT.agent-writer.1.1.1.1.1", pub_denied),
        # every vault command, not only resolve; and the proxy-token check
        ("pub", "svc.vault.get", pub_denied),
        ("pub", "svc.vault.list", pub_denied),
        ("sub", "svc.vault.resolve", sub_denied),
        ("pub", "svc.orchestrator.proxy_token", pub_denied),
    ],
)
async def test_an_agent_cannot_reach_what_is_not_its_own(
    nats_clients: NatsTestServer,
    operation: str,
    subject: str,
    expected: object,
) -> None:
    creds = nats_clients.authority.mint_agent_credentials("coder", timedelta(minutes=10))
    violations = Violations()
    agent = await nats_clients.connect(creds, error_cb=violations.on_error)
    if operation == "sub":
        await agent.subscribe(subject)
    else:
        await agent.publish(subject, b"{}")
    await agent.flush()
    assert callable(expected)
    await violations.expect(expected(subject))


async def test_an_agent_cannot_pull_another_agents_input(
    fresh_streams: JetStreamContext, nats_clients: NatsTestServer
) -> None:
    await _agent_setup(nats_clients, fresh_streams, "writer")
    router = await nats_clients.connect("router")
    await router.jetstream().publish(subjects.agent_input("writer"), b'{"secret": "turn"}')
    creds = nats_clients.authority.mint_agent_credentials("coder", timedelta(minutes=10))
    violations = Violations()
    agent = await nats_clients.connect(creds, error_cb=violations.on_error)
    sub = await agent.jetstream().pull_subscribe_bind("agent-writer", stream=streams.AGENT_INPUT)
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=0.5)
    await violations.expect(pub_denied("$JS.API.CONSUMER.MSG.NEXT.AGENT_INPUT.agent-writer"))
    info = await fresh_streams.consumer_info(streams.AGENT_INPUT, "agent-writer")
    assert info.num_pending == 1  # still waiting for its own agent


# --- revocation --------------------------------------------------------------------------


async def _connect_agent(
    nats_clients: NatsTestServer, creds: Credentials, closed: asyncio.Event
) -> Client:
    async def on_closed() -> None:
        closed.set()

    async def quiet(_: Exception) -> None:
        return None

    return await nats_clients.connect(
        creds,
        closed_cb=on_closed,
        error_cb=quiet,
        max_reconnect_attempts=2,
        reconnect_time_wait=0.1,
    )


async def test_revoked_agent_is_disconnected_and_cannot_come_back(
    nats_clients: NatsTestServer,
) -> None:
    issuer = await AgentCredentialIssuer.connect(nats_clients.authority.directory, nats_clients.url)
    try:
        creds = await issuer.issue("coder", expires_in=timedelta(minutes=10))
        assert issuer.active["coder"] is creds
        closed = asyncio.Event()
        agent = await _connect_agent(nats_clients, creds, closed)
        await agent.flush()

        assert await issuer.revoke("coder") is True
        await asyncio.wait_for(closed.wait(), timeout=10)
        assert str(agent.last_error) == "nats: user authentication revoked"
        assert "coder" not in issuer.active
        assert await issuer.revoke("coder") is False

        with pytest.raises(nats.errors.Error, match="'Authorization Violation'"):
            await nats.connect(
                nats_clients.url,
                user_credentials=creds.raw(),
                inbox_prefix=creds.inbox_prefix.encode(),
                allow_reconnect=False,
                connect_timeout=2,
            )
        # a new credential for the same agent works
        fresh = await issuer.issue("coder", expires_in=timedelta(minutes=10))
        again = await nats_clients.connect(fresh)
        await again.flush()
        assert again.is_connected
    finally:
        await issuer.revoke_all()
        await issuer.close()


async def test_reissuing_revokes_the_previous_credentials(nats_clients: NatsTestServer) -> None:
    issuer = await AgentCredentialIssuer.connect(nats_clients.authority.directory, nats_clients.url)
    try:
        first = await issuer.issue("writer", expires_in=timedelta(minutes=10))
        closed = asyncio.Event()
        await _connect_agent(nats_clients, first, closed)
        second = await issuer.issue("writer", expires_in=timedelta(minutes=10))
        await asyncio.wait_for(closed.wait(), timeout=10)
        still = await nats_clients.connect(second)
        await still.flush()
        assert still.is_connected
    finally:
        await issuer.revoke_all()
        await issuer.close()


async def test_any_minted_key_can_be_revoked_by_its_public_key(
    nats_clients: NatsTestServer,
) -> None:
    creds = nats_clients.authority.mint_agent_credentials("coder", timedelta(minutes=10))
    closed = asyncio.Event()
    await _connect_agent(nats_clients, creds, closed)
    issuer = await AgentCredentialIssuer.connect(nats_clients.authority.directory, nats_clients.url)
    try:
        await issuer.revoke_public_key(creds.public_key)
        await asyncio.wait_for(closed.wait(), timeout=10)
    finally:
        await issuer.close()
