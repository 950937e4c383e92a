"""The vault as `praktor up` runs it: its own process, its own identity, its passphrase file."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import nats.errors
import pytest
from nats.js import JetStreamContext
from pydantic import SecretStr

from praktor_common.config import PraktorConfig
from praktor_common.config.distribution import config_bucket, encode_envelope
from praktor_common.contracts import vault as c
from praktor_common.embedded.ports import free_port
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.subjects import CONFIG_KV_KEY
from praktor_common.testing.nats import NatsTestServer
from services.vault.tests.support import PASSPHRASE, call, ok

pytestmark = pytest.mark.integration

START = "from praktor_vault.service import main; main()"
STARTUP_WITHIN = 60.0


@pytest.fixture
async def published_config(fresh_streams: JetStreamContext) -> None:
    kv = await config_bucket(fresh_streams)
    await kv.put(CONFIG_KV_KEY, encode_envelope(PraktorConfig(), source="vault tests"))


def service_env(
    server: NatsTestServer, database_url: str, tmp_path: Path, **extra: str
) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PRAKTOR_VAULT_PASSPHRASE")
    }
    env.update(
        {
            "PRAKTOR_DATA_DIR": str(tmp_path),
            "PRAKTOR_NATS_URL": server.url,
            "PRAKTOR_NATS_CREDS": str(server.creds_path("vault")),
            "PRAKTOR_DATABASE_URL": database_url,
            "PRAKTOR_HEALTH_PORT": str(free_port()),
            "PRAKTOR_LOG_FORMAT": "console",
        }
    )
    env.update(extra)
    return env


@asynccontextmanager
async def vault_process(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """The service's console entry point in a child process; its output in ``<data dir>/log``."""
    with (Path(env["PRAKTOR_DATA_DIR"]) / "log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", START, env=env, stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def answered(request: Callable[[], Awaitable[object]]) -> None:
    """Wait until the service answers ``request``."""
    async with asyncio.timeout(STARTUP_WITHIN):
        while True:
            try:
                await request()
                return
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                await asyncio.sleep(0.2)


async def test_the_service_unlocks_with_its_passphrase_file_and_answers(
    nats_clients: NatsTestServer,
    published_config: None,
    migrated_database_url: str,
    tmp_path: Path,
) -> None:
    file = tmp_path / "vault-passphrase"
    file.write_text(PASSPHRASE + "\n")
    env = service_env(
        nats_clients, migrated_database_url, tmp_path, PRAKTOR_VAULT_PASSPHRASE_FILE=str(file)
    )
    cli = await nats_clients.connect(ADMIN_IDENTITY)
    async with vault_process(env) as process:
        await answered(lambda: call(cli, c.SECRET_LIST, c.SecretListRequest(), timeout=2))
        saved = await ok(cli, c.SECRET_SET, c.SecretSetRequest(name="k", value=SecretStr("v")))
        assert saved.secret.name == "k"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def run_until_exit(env: dict[str, str]) -> tuple[int, str]:
    """Exit code and output of a start that is expected to fail."""
    async with vault_process(env) as process:
        code = await asyncio.wait_for(process.wait(), STARTUP_WITHIN)
    return code, (Path(env["PRAKTOR_DATA_DIR"]) / "log").read_text()


async def test_a_wrong_passphrase_stops_the_service_with_a_clear_message(
    nats_clients: NatsTestServer,
    published_config: None,
    migrated_database_url: str,
    tmp_path: Path,
) -> None:
    right = tmp_path / "right"
    right.write_text(PASSPHRASE)
    cli = await nats_clients.connect(ADMIN_IDENTITY)
    env = service_env(
        nats_clients, migrated_database_url, tmp_path, PRAKTOR_VAULT_PASSPHRASE_FILE=str(right)
    )
    async with vault_process(env):  # the first start writes the verifier
        await answered(lambda: call(cli, c.SECRET_LIST, c.SecretListRequest(), timeout=2))

    wrong_env = service_env(
        nats_clients, migrated_database_url, tmp_path, PRAKTOR_VAULT_PASSPHRASE="not it at all"
    )
    code, stderr = await run_until_exit(wrong_env)
    assert code == 1
    assert (
        "vault: the vault passphrase from PRAKTOR_VAULT_PASSPHRASE does not unlock this vault"
        in stderr
    )
    assert "not it at all" not in stderr


async def test_without_a_passphrase_the_service_says_how_to_set_one(
    nats_clients: NatsTestServer,
    published_config: None,
    migrated_database_url: str,
    tmp_path: Path,
) -> None:
    code, stderr = await run_until_exit(service_env(nats_clients, migrated_database_url, tmp_path))
    assert code == 1
    assert "vault: the vault has no passphrase: set PRAKTOR_VAULT_PASSPHRASE_FILE" in stderr
