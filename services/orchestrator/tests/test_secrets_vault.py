"""Agent secrets from the REAL vault service: the orchestrator asks it as the agent, over the bus.

The vault's own handlers answer ``svc.vault.*`` with the vault identity on the
authenticated NATS, over the test's PostgreSQL; secrets are stored and
assigned the way ``praktor vault`` does (cli-admin requests). The orchestrator
is the real one (:mod:`harness`), its agents the process runtime running the
:mod:`fake_runner` test double.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_common.bus import make_broker
from praktor_common.contracts import vault as c
from praktor_common.contracts.deliver import Delivery
from praktor_common.testing.nats import NatsTestServer
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.runtime import AgentRuntime, ProcessRuntime, procfs
from praktor_vault.handlers import event_publisher, register
from praktor_vault.vault import Vault
from services.orchestrator.tests.harness import (
    FAKE_RUNNER,
    Running,
    make_config,
    running_orchestrator,
)
from services.vault.tests.support import ok, passphrase

pytestmark = pytest.mark.integration

TOKEN = "ghp_coders-own-token-4f1e9a"  # a test value
DEPLOY_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\n\x00\xffbinary\n-----END-----\n"
CONFIG = make_config(
    {
        "coder": {
            "env": {"GITHUB_TOKEN": "secret:github-token", "PLAIN": "visible"},
            "files": [
                {
                    "secret": "deploy-key",
                    "target": "/home/praktor/.ssh/id_ed25519",
                    "mode": "0400",
                }
            ],
        },
        "writer": {"env": {"GITHUB_TOKEN": "secret:github-token"}},
    }
)


@pytest_asyncio.fixture
async def vault_service(
    nats_clients: NatsTestServer, migrated_engine: AsyncEngine
) -> AsyncIterator[None]:
    """The vault service's handlers answering on the bus as the ``vault`` identity."""
    broker = make_broker(nats_clients.settings("vault"), "vault", graceful_timeout=2.0)
    vault = await Vault.open(migrated_engine, passphrase(), events=event_publisher(broker))
    register(broker, vault)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def fake_runners(data_dir: Path, install_id: str) -> AgentRuntime:
    return ProcessRuntime(
        data_dir, AgentPaths(data_dir).state_dir, install_id, args=[str(FAKE_RUNNER)]
    )


async def store_secrets(run: Running) -> None:
    """What ``praktor vault set`` and ``praktor vault assign`` do: only coder gets them."""
    cli = await run.server.connect("cli-admin")
    await ok(cli, c.SECRET_SET, c.SecretSetRequest(name="github-token", value=SecretStr(TOKEN)))
    await ok(
        cli,
        c.SECRET_SET,
        c.SecretSetRequest(
            name="deploy-key",
            value=SecretStr(base64.b64encode(DEPLOY_KEY).decode()),
            encoding="base64",
            filename="id_ed25519",
        ),
    )
    await ok(
        cli,
        c.SECRET_ASSIGN,
        c.SecretAssignRequest(agent_id="coder", names=["github-token", "deploy-key"]),
    )


def runner_environ(data_dir: Path, agent_id: str) -> dict[str, str]:
    """The environment the agent's process was started with (``/proc/<pid>/environ``)."""
    record = json.loads((AgentPaths(data_dir).state_dir / f"{agent_id}.json").read_text())
    environ = procfs.proc_environ(int(record["pid"]))
    assert environ is not None
    return dict(environ)


def final_of(msg_id: str) -> Callable[[Delivery], bool]:
    return lambda d: d.kind == "final" and d.msg_id == msg_id


async def test_an_agent_refers_to_a_secret_not_assigned_to_it_so_it_does_not_start(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    vault_service: None,
    data_dir: Path,
) -> None:
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, CONFIG, runtime=fake_runners
    ) as run:
        await store_secrets(run)

        sent = await run.send_input("writer", "please push")

        told = await run.delivered(lambda d: d.msg_id == sent.msg_id)
        assert told.kind == "error"
        assert told.notice is not None
        assert told.notice.code == "agent_unavailable"
        assert told.notice.text == (
            "Agent writer could not start: secret 'github-token' is not assigned to agent "
            "'writer' (assign it: praktor vault assign github-token writer). "
            "Your message waits; Praktor tries again when you write next."
        )
        assert TOKEN not in told.model_dump_json()
        assert not run.orchestrator.lifecycle.is_running("writer")
        assert not (AgentPaths(data_dir).state_dir / "writer.json").exists()


async def test_an_agent_gets_its_assigned_secret_as_env_and_file_and_its_output_is_redacted(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    vault_service: None,
    data_dir: Path,
) -> None:
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, CONFIG, runtime=fake_runners
    ) as run:
        await store_secrets(run)

        sent = await run.send_input("coder", f"my token is {TOKEN}")

        final = await run.delivered(final_of(sent.msg_id))
        assert final.content == "echo: my token is [REDACTED]"
        environ = runner_environ(data_dir, "coder")
        assert environ["GITHUB_TOKEN"] == TOKEN
        assert environ["PLAIN"] == "visible"
        key_file = AgentPaths(data_dir).home_dir("coder") / ".ssh" / "id_ed25519"
        assert key_file.read_bytes() == DEPLOY_KEY
        assert key_file.stat().st_mode & 0o777 == 0o400


async def test_a_secret_assigned_after_a_refusal_lets_the_next_message_start_the_agent(
    fresh_streams: JetStreamContext,
    nats_clients: NatsTestServer,
    migrated_engine: AsyncEngine,
    vault_service: None,
    data_dir: Path,
) -> None:
    async with running_orchestrator(
        nats_clients, migrated_engine, data_dir, CONFIG, runtime=fake_runners
    ) as run:
        await store_secrets(run)
        refused = await run.send_input("writer", "first")
        await run.delivered(lambda d: d.msg_id == refused.msg_id and d.kind == "error")

        cli = await run.server.connect("cli-admin")
        await ok(
            cli,
            c.SECRET_ASSIGN,
            c.SecretAssignRequest(agent_id="writer", names=["github-token"]),
        )
        again = await run.send_input("writer", "second")

        await run.delivered(final_of(again.msg_id))
        assert runner_environ(data_dir, "writer")["GITHUB_TOKEN"] == TOKEN
