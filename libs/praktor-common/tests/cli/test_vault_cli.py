"""`praktor vault` as a user meets it, against the vault service on a real bus."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs
from typer.testing import CliRunner, Result

from praktor_common.bus import make_broker
from praktor_common.cli.vault import vault_app
from praktor_common.contracts import vault as c
from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.testing.nats import NatsTestServer
from praktor_vault.handlers import register
from praktor_vault.passphrase import Passphrase
from praktor_vault.unlock import UnlockError
from praktor_vault.vault import Vault

pytestmark = pytest.mark.integration

PASSPHRASE = "the vault passphrase of this test"
NEW_PASSPHRASE = "and the one after it"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x01\x02\xff" + bytes(range(256))

app = typer.Typer()
app.add_typer(vault_app, name="vault")


def _text(output: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(output.split())


@dataclass
class Cli:
    """`praktor vault …` run the way a user runs it, with the env of a `praktor up` machine."""

    env: dict[str, str]
    data_dir: Path
    server: NatsTestServer
    engine: AsyncEngine

    async def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        runner = CliRunner()
        # the command runs its own event loop: give it a thread
        return await asyncio.to_thread(
            runner.invoke, app, ["vault", *args], input=input, env=self.env
        )

    async def ok(self, *args: str, input: str | bytes | None = None) -> str:
        result = await self(*args, input=input)
        assert result.exit_code == 0, result.output
        return _text(result.output)

    async def fails(self, *args: str, input: str | bytes | None = None) -> str:
        result = await self(*args, input=input)
        assert result.exit_code == 1, result.output
        return _text(result.output)

    async def resolve(self, agent_id: str, name: str) -> bytes:
        """What the orchestrator would get for ``agent_id`` (the CLI itself cannot)."""
        orchestrator = await self.server.connect("orchestrator")
        request = c.SecretResolveRequest(agent_id=agent_id, names=[name])
        raw = await orchestrator.request(
            c.SECRET_RESOLVE.subject, request.model_dump_json().encode(), timeout=10
        )
        reply = c.SECRET_RESOLVE.parse_reply(raw.data)
        assert isinstance(reply, c.SecretResolveReply), reply
        [secret] = reply.secrets
        value = secret.value.get_secret_value()
        return base64.b64decode(value) if secret.encoding == "base64" else value.encode()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory as `praktor up` leaves it: the vault passphrase in secrets/."""
    secrets = tmp_path / "data" / "secrets"
    secrets.mkdir(parents=True, mode=0o700)
    (secrets / "vault-passphrase").write_text(PASSPHRASE + "\n")
    return tmp_path / "data"


@pytest.fixture
async def cli(
    nats_clients: NatsTestServer,
    fresh_streams: JetStreamContext,
    migrated_engine: AsyncEngine,
    data_dir: Path,
) -> AsyncIterator[Cli]:
    async with session_factory(migrated_engine)() as session, session.begin():
        for agent_id in ("coder", "writer"):
            await upsert_agent(session, id=agent_id, workspace=agent_id)
    broker = make_broker(nats_clients.settings("vault"), "vault", graceful_timeout=2.0)
    with capture_logs():
        vault = await Vault.open(migrated_engine, Passphrase(PASSPHRASE, "test"))
    register(broker, vault)
    await broker.start()
    env = {
        "PRAKTOR_DATA_DIR": str(data_dir),
        "PRAKTOR_NATS_URL": nats_clients.url,
        "PRAKTOR_NATS_CREDS": str(nats_clients.creds_path(ADMIN_IDENTITY)),
        "PRAKTOR_VAULT_PASSPHRASE_FILE": "",
        "PRAKTOR_VAULT_PASSPHRASE": "",
    }
    try:
        # the service's log lines would land in the CLI's captured stdout
        with capture_logs():
            yield Cli(env, data_dir, nats_clients, migrated_engine)
    finally:
        await broker.stop()


async def test_set_get_list_delete(cli: Cli) -> None:
    said = await cli.ok("set", "github-token", "ghp_value", "--description", "GitHub", "--global")
    assert said == "✓ secret github-token saved (string, global)"
    shown = await cli.ok("get", "github-token")
    assert "name github-token" in shown
    assert "global yes" in shown
    assert "description GitHub" in shown
    assert "ghp_value" not in shown
    await cli.ok("set", "aws", "--stdin", input="aws-value\n")
    listed = await cli.ok("list")
    assert listed.split()[:5] == ["NAME", "KIND", "GLOBAL", "DESCRIPTION", "AGENTS"]
    assert "aws string" in listed
    assert "github-token string yes GitHub" in listed
    assert await cli.resolve("coder", "github-token") == b"ghp_value"
    assert await cli.ok("delete", "aws") == "✓ secret aws deleted"
    assert "aws" not in await cli.ok("list")
    assert await cli.fails("delete", "aws") == "error: no secret 'aws'"
    assert await cli.fails("get", "aws") == "error: no secret 'aws'"


async def test_an_empty_vault_says_so(cli: Cli) -> None:
    assert await cli.ok("list") == "no secrets"


async def test_stdin_drops_one_final_newline_and_keeps_binary_as_is(cli: Cli) -> None:
    await cli.ok("set", "line", "--global", "--stdin", input="value\n")
    assert await cli.resolve("coder", "line") == b"value"
    await cli.ok("set", "raw", "--global", "--stdin", input=b"\xff\xfe\x00\n")
    assert await cli.resolve("coder", "raw") == b"\xff\xfe\x00\n"


async def test_a_file_secret_round_trips_byte_exact(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "cert.der"
    path.write_bytes(BINARY)
    said = await cli.ok("set", "tls", "--file", str(path))
    assert said == "✓ secret tls saved (file, assigned agents only)"
    assert "file cert.der" in await cli.ok("get", "tls")
    await cli.ok("assign", "tls", "coder")
    assert await cli.resolve("coder", "tls") == BINARY


async def test_without_a_value_it_asks_twice_without_echoing(cli: Cli) -> None:
    result = await cli("set", "typed", "--global", input="typed value\ntyped value\n")
    assert result.exit_code == 1, "--global alone changes metadata: there is nothing to update"
    assert "does not exist; a new secret needs a value" in _text(result.output)
    said = await cli.ok("set", "typed", input="typed value\ntyped value\n")
    assert said.startswith("Value of typed:")
    assert "typed value" not in said
    assert await cli.ok("set", "typed", "--global") == "✓ secret typed saved (string, global)"
    assert await cli.resolve("writer", "typed") == b"typed value"


async def test_one_value_source_at_a_time(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    said = await cli.fails("set", "x", "value", "--file", str(tmp_path / "f"))
    assert said == "error: give the value one way: VALUE, --file or --stdin"


async def test_assign_and_unassign(cli: Cli) -> None:
    await cli.ok("set", "token", "value")
    assert await cli.ok("assign", "token", "coder") == "✓ coder may use token"
    assert "token string coder" in await cli.ok("list")
    assert "token" in await cli.ok("list", "--agent", "coder")
    assert await cli.ok("list", "--agent", "writer") == "no secrets"
    said = await cli.ok("unassign", "token", "coder")
    assert said == "✓ token is no longer assigned to coder"
    assert await cli.ok("list", "--agent", "coder") == "no secrets"
    assert "no agent 'ghost'" in await cli.fails("assign", "token", "ghost")
    assert await cli.fails("assign", "nothing", "coder") == "error: no secret 'nothing'"


async def test_a_bad_name_is_refused_before_anything_is_sent(cli: Cli) -> None:
    said = await cli.fails("set", "has space", "value")
    assert said.startswith("error: name: String should match pattern")
    assert "value" not in said.removeprefix("error: name:")


async def test_rotate_under_praktor_up_updates_the_passphrase_file_after_the_switch(
    cli: Cli, tmp_path: Path
) -> None:
    await cli.ok("set", "token", "value", "--global")
    new_file = tmp_path / "new"
    new_file.write_text(NEW_PASSPHRASE + "\n")
    said = await cli.ok("rotate", "--new-passphrase-file", str(new_file))
    assert "✓ vault passphrase changed; 1 secret(s) re-encrypted" in said
    passphrase_file = cli.data_dir / "secrets" / "vault-passphrase"
    assert f"The new passphrase is in {passphrase_file}" in said
    assert passphrase_file.read_text() == NEW_PASSPHRASE + "\n"
    assert passphrase_file.stat().st_mode & 0o777 == 0o600
    assert not (cli.data_dir / "secrets" / "vault-passphrase.new").exists()
    assert await cli.resolve("coder", "token") == b"value"
    reopened = await Vault.open(cli.engine, Passphrase(NEW_PASSPHRASE, "test"))
    reply = await reopened.resolve(c.SecretResolveRequest(agent_id="coder", names=["token"]))
    assert [s.value.get_secret_value() for s in reply.secrets] == ["value"]
    with pytest.raises(UnlockError):
        await Vault.open(cli.engine, Passphrase(PASSPHRASE, "test"))


async def test_a_refused_rotation_leaves_the_passphrase_file_alone(
    cli: Cli, tmp_path: Path
) -> None:
    passphrase_file = cli.data_dir / "secrets" / "vault-passphrase"
    passphrase_file.write_text("not what the vault uses\n")
    new_file = tmp_path / "new"
    new_file.write_text(NEW_PASSPHRASE)
    said = await cli.fails("rotate", "--new-passphrase-file", str(new_file))
    assert said == (
        "error: the current passphrase is wrong; nothing was changed — "
        "the passphrase was not changed"
    )
    assert passphrase_file.read_text() == "not what the vault uses\n"
    assert not (cli.data_dir / "secrets" / "vault-passphrase.new").exists()
    await Vault.open(cli.engine, Passphrase(PASSPHRASE, "test"))


async def test_rotate_asks_for_both_passphrases_when_it_knows_no_file(cli: Cli) -> None:
    (cli.data_dir / "secrets" / "vault-passphrase").unlink()
    typed = f"{PASSPHRASE}\n{NEW_PASSPHRASE}\n{NEW_PASSPHRASE}\n"
    said = await cli.ok("rotate", input=typed)
    assert "✓ vault passphrase changed; 0 secret(s) re-encrypted" in said
    assert "Update the passphrase where the vault reads it" in said
    assert PASSPHRASE not in said
    assert NEW_PASSPHRASE not in said
    await Vault.open(cli.engine, Passphrase(NEW_PASSPHRASE, "test"))


async def test_a_new_passphrase_must_be_long_enough(cli: Cli, tmp_path: Path) -> None:
    new_file = tmp_path / "new"
    new_file.write_text("short")
    said = await cli.fails("rotate", "--new-passphrase-file", str(new_file))
    assert (
        said == "error: new_passphrase: Value should have at least 8 items after validation, not 5"
    )


async def test_without_a_running_vault_it_says_so(
    nats_clients: NatsTestServer, data_dir: Path
) -> None:
    env = {
        "PRAKTOR_DATA_DIR": str(data_dir),
        "PRAKTOR_NATS_URL": nats_clients.url,
        "PRAKTOR_NATS_CREDS": str(nats_clients.creds_path(ADMIN_IDENTITY)),
    }
    result = await asyncio.to_thread(CliRunner().invoke, app, ["vault", "list"], env=env)
    assert result.exit_code == 1
    assert "the vault service is not running" in _text(result.output)


def test_without_a_subcommand_it_shows_the_commands() -> None:
    result = CliRunner().invoke(app, ["vault"])
    assert result.exit_code == 0
    for command in ("set", "get", "list", "delete", "assign", "unassign", "rotate"):
        assert command in result.output
