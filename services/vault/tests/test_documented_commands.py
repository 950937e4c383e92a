"""Every ``praktor vault`` command docs/secrets.md shows works, run in order on the real vault."""

from __future__ import annotations

import asyncio
import base64
import re
import shlex
from pathlib import Path

import pytest
import typer
from structlog.testing import capture_logs
from typer.testing import CliRunner

from praktor_common.cli.vault import vault_app
from praktor_common.contracts import vault as c
from praktor_common.identities import ADMIN_IDENTITY
from services.vault.tests.support import RunningVault, ok

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[3] / "docs" / "secrets.md"
TYPED = "typed-value-of-the-docs"
DEPLOY_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\n\x00\xffbinary\n"

app = typer.Typer()
app.add_typer(vault_app, name="vault")


def documented_commands() -> list[tuple[list[str], str | None]]:
    """(arguments after ``praktor``, what is piped in) of each command in the doc's sh blocks."""
    commands: list[tuple[list[str], str | None]] = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            piped: str | None = None
            if "| praktor vault " in command:
                source, command = (part.strip() for part in command.split("|", 1))
                piped = "piped-value" if source.startswith("printf") else None
            if command.startswith("praktor vault "):
                commands.append((shlex.split(command)[1:], piped))
    return commands


def test_the_doc_shows_the_vault_commands() -> None:
    shown = {" ".join(args[:2]) for args, _ in documented_commands()}
    assert {"vault set", "vault assign", "vault unassign", "vault list", "vault get"} <= shown


async def test_every_documented_vault_command_succeeds(
    running_vault: RunningVault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "deploy_key").write_bytes(DEPLOY_KEY)
    monkeypatch.chdir(tmp_path)
    env = {
        "PRAKTOR_DATA_DIR": str(tmp_path),
        "PRAKTOR_NATS_URL": running_vault.server.url,
        "PRAKTOR_NATS_CREDS": str(running_vault.server.creds_path(ADMIN_IDENTITY)),
    }
    runner = CliRunner()
    for args, piped in documented_commands():
        given = piped if piped is not None else f"{TYPED}\n{TYPED}\n"  # a prompt asks twice
        with capture_logs():
            # the command runs its own event loop: give it a thread
            result = await asyncio.to_thread(runner.invoke, app, args, input=given, env=env)
        assert result.exit_code == 0, (args, result.output)
        assert TYPED not in result.output

    orchestrator = await running_vault.client("orchestrator")
    reply = await ok(
        orchestrator,
        c.SECRET_RESOLVE,
        c.SecretResolveRequest(agent_id="coder", names=["deploy-key", "github-token"]),
    )
    [deploy_key] = reply.secrets
    assert deploy_key.encoding == "base64"  # not text: the file's bytes are kept as they are
    assert base64.b64decode(deploy_key.value.get_secret_value()) == DEPLOY_KEY
    assert reply.denied == ["github-token"]  # unassigned again, and no longer global
