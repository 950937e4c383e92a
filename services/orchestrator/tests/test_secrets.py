"""An agent gets exactly the vault secrets its config refers to, and only if it may use them."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from praktor_common.contracts.vault import (
    ResolvedSecret,
    SecretResolveReply,
    SecretResolveRequest,
)
from praktor_orchestrator.launch import definition_for
from praktor_orchestrator.runtime.access import AccessError
from praktor_orchestrator.runtime.base import AgentDirs
from praktor_orchestrator.runtime.process import process_file_path
from praktor_orchestrator.secrets import (
    AgentSecretBook,
    SecretResolutionError,
    VaultUnavailableError,
    resolve_for_start,
)
from services.orchestrator.tests.harness import make_config

PEM = b"-----BEGIN KEY-----\x00\xff binary\n"


class MemoryVault:
    """The vault's access rule (global or assigned), answering like ``svc.vault.resolve``."""

    def __init__(self, values: dict[str, bytes], assigned: dict[str, set[str]]) -> None:
        self.values = values
        self.assigned = assigned
        self.asked: list[SecretResolveRequest] = []
        self.down = False

    async def resolve(self, request: SecretResolveRequest) -> SecretResolveReply:
        self.asked.append(request)
        if self.down:
            raise VaultUnavailableError("the vault service is not running")
        mine = self.assigned.get(request.agent_id, set())
        chosen = mine if request.all_accessible else mine & set(request.names)
        secrets = []
        for name in sorted(chosen):
            raw = self.values[name]
            try:
                value, encoding = raw.decode(), "text"
            except UnicodeDecodeError:
                value, encoding = base64.b64encode(raw).decode(), "base64"
            secrets.append(
                ResolvedSecret(
                    name=name,
                    kind="string",
                    value=SecretStr(value),
                    encoding=encoding,  # type: ignore[arg-type]
                )
            )
        return SecretResolveReply(
            secrets=secrets,
            missing=[n for n in request.names if n not in self.values],
            denied=[n for n in request.names if n in self.values and n not in mine],
        )


VAULT_VALUES = {"gh": b"ghp_token_of_coder", "pem": PEM, "db": b"postgres://u:pw@db/x"}


async def test_env_references_and_files_are_filled_from_the_agents_own_secrets() -> None:
    vault = MemoryVault(VAULT_VALUES, {"coder": {"gh", "pem", "db"}})
    definition = definition_for(
        make_config(
            {
                "coder": {
                    "env": {"GITHUB_TOKEN": "secret:gh", "PLAIN": "x"},
                    "files": [{"secret": "pem", "target": "/home/praktor/.ssh/id", "mode": "0400"}],
                }
            }
        ),
        "coder",
    )

    secrets = await resolve_for_start(vault, definition)

    assert secrets.env == {"GITHUB_TOKEN": "ghp_token_of_coder"}
    assert [(f.target, f.mode, f.content) for f in secrets.files] == [
        ("/home/praktor/.ssh/id", 0o400, PEM)
    ]
    assert set(secrets.values) == {"gh", "pem", "db"}  # every one it may use: for redaction
    assert vault.asked[0].agent_id == "coder"
    assert vault.asked[0].all_accessible


async def test_a_secret_assigned_to_another_agent_stops_the_start_and_says_how_to_fix_it() -> None:
    vault = MemoryVault(VAULT_VALUES, {"writer": {"gh"}})
    definition = definition_for(
        make_config({"coder": {"env": {"GITHUB_TOKEN": "secret:gh"}}, "writer": {}}), "coder"
    )
    with pytest.raises(SecretResolutionError) as refused:
        await resolve_for_start(vault, definition)
    assert str(refused.value) == (
        "secret 'gh' is not assigned to agent 'coder' (assign it: praktor vault assign gh coder)"
    )
    assert "ghp_" not in str(refused.value)


async def test_a_missing_secret_stops_the_start_and_names_it() -> None:
    vault = MemoryVault(VAULT_VALUES, {"coder": {"gh"}})
    definition = definition_for(
        make_config({"coder": {"files": [{"secret": "nope", "target": "/home/praktor/.netrc"}]}}),
        "coder",
    )
    with pytest.raises(SecretResolutionError, match=r"secret 'nope' does not exist"):
        await resolve_for_start(vault, definition)


async def test_a_binary_secret_cannot_be_an_env_value() -> None:
    vault = MemoryVault(VAULT_VALUES, {"coder": {"pem"}})
    definition = definition_for(make_config({"coder": {"env": {"KEY": "secret:pem"}}}), "coder")
    with pytest.raises(SecretResolutionError, match=r"binary .* give it to the agent as a file"):
        await resolve_for_start(vault, definition)


async def test_without_the_vault_an_agent_with_references_does_not_start() -> None:
    vault = MemoryVault(VAULT_VALUES, {"coder": {"gh"}})
    vault.down = True
    definition = definition_for(make_config({"coder": {"env": {"T": "secret:gh"}}}), "coder")
    with pytest.raises(SecretResolutionError, match=r"its secrets \(gh\) could not be read"):
        await resolve_for_start(vault, definition)


async def test_without_the_vault_an_agent_without_references_starts_with_nothing() -> None:
    vault = MemoryVault(VAULT_VALUES, {"coder": {"gh"}})
    vault.down = True
    secrets = await resolve_for_start(vault, definition_for(make_config({"coder": {}}), "coder"))
    assert (dict(secrets.env), secrets.files, dict(secrets.values)) == ({}, (), {})


async def test_the_book_knows_what_a_start_resolved_and_asks_the_vault_for_others() -> None:
    vault = MemoryVault(VAULT_VALUES, {"coder": {"gh"}, "writer": {"db"}})

    class Follower:
        current = make_config({"coder": {"env": {"T": "secret:gh"}}, "writer": {}})

    book = AgentSecretBook(vault, Follower())
    started = await resolve_for_start(vault, definition_for(Follower.current, "coder"))
    book.remember("coder", started)
    vault.asked.clear()

    assert await book.values_for("coder") == {"gh": "ghp_token_of_coder"}
    assert vault.asked == []
    assert await book.values_for("writer") == {"db": "postgres://u:pw@db/x"}  # adopted: asked

    vault.down = True
    fresh = AgentSecretBook(vault, Follower())
    assert await fresh.values_for("writer") == {}  # refers to no secret: nothing to leak
    with pytest.raises(VaultUnavailableError):
        await fresh.values_for("coder")  # refers to one: its output waits for the vault


def test_the_process_runtime_places_secret_files_in_the_agents_home_or_workspace() -> None:
    dirs = AgentDirs(
        workspace=Path("/d/agents/coder"),
        home=Path("/d/agents/.homes/coder"),
        runtime=Path("/d/agents/.run/coder"),
        global_dir=Path("/d/agents/global"),
    )
    assert process_file_path("/home/praktor/.ssh/id", dirs) == dirs.home / ".ssh" / "id"
    assert process_file_path("/workspace/agent/.env", dirs) == dirs.workspace / ".env"
    with pytest.raises(AccessError, match="use a container runtime"):
        process_file_path("/etc/ssl/key.pem", dirs)
    with pytest.raises(AccessError):
        process_file_path("/home/praktor/../../etc/passwd", dirs)
