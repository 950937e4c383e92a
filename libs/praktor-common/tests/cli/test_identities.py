"""`praktor identities init | export`: what a compose or Kubernetes install starts from."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import nats
import nats.errors
import nkeys
import pytest
import typer
import yaml
from nats.aio.client import Client
from typer.testing import CliRunner

from praktor_common import streams
from praktor_common.cli.identities import (
    HELM_SECRET_SUFFIXES,
    ORCHESTRATOR_AUTHORITY_FILES,
    SERVICE_CONTAINERS,
    export_compose,
    identities_app,
    init_identities,
    pgpass_line,
)
from praktor_common.embedded.nats import EmbeddedNats
from praktor_common.embedded.ports import free_port
from praktor_common.identities import (
    ADMIN_IDENTITY,
    SERVICES,
    SYSTEM_IDENTITY,
    AgentCredentialIssuer,
    Authority,
    connect_system,
)
from praktor_common.identities.jwt import decode_jwt
from praktor_common.identities.permissions import inbox_prefix

KUBERNETES_VERSION = "1.35.0"


def praktor() -> typer.Typer:
    """The command as users type it: `praktor identities ...`."""
    app = typer.Typer()
    app.add_typer(identities_app, name="identities")
    return app


def run(*args: str | Path) -> str:
    result = CliRunner().invoke(praktor(), [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def creds_parts(text: str) -> tuple[dict[str, Any], str]:
    """(decoded JWT, seed) of a .creds file."""
    jwt = text.split("-----BEGIN NATS USER JWT-----")[1].split("------END")[0].strip()
    seed = text.split("-----BEGIN USER NKEY SEED-----")[1].split("------END")[0].strip()
    return decode_jwt(jwt), seed


@pytest.fixture
def identities(tmp_path: Path) -> Path:
    directory = tmp_path / "nats"
    run("identities", "init", directory, "--store-dir", tmp_path / "jetstream")
    return directory


# --- init -------------------------------------------------------------------------------


def test_init_writes_authority_server_config_creds_and_secrets_owner_only(
    identities: Path,
) -> None:
    for relative in (
        "operator.nk",
        *ORCHESTRATOR_AUTHORITY_FILES,
        "server.conf",
        "secrets/web-password",
        "secrets/vault-passphrase",
        "secrets/postgres-password",
    ):
        assert (identities / relative).is_file(), relative
    for identity in (*SERVICES, SYSTEM_IDENTITY):
        assert (identities / "creds" / f"{identity}.creds").is_file(), identity
    assert ADMIN_IDENTITY in SERVICES
    assert mode(identities) == 0o700
    for path in identities.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_init_again_changes_nothing(identities: Path, tmp_path: Path) -> None:
    before = snapshot(identities)
    output = run("identities", "init", identities, "--store-dir", tmp_path / "jetstream")
    assert snapshot(identities) == before
    assert "kept" in output
    assert "created" not in output


def test_each_creds_file_is_its_identity_signed_by_the_account(identities: Path) -> None:
    authority = Authority.load(identities)
    signing_keys = decode_jwt(authority.account_jwt)["nats"]["signing_keys"]
    for identity in SERVICES:
        claims, seed = creds_parts((identities / "creds" / f"{identity}.creds").read_text())
        assert claims["name"] == identity
        assert claims["iss"] in signing_keys
        assert claims["nats"]["issuer_account"] == authority.account_public_key
        assert claims["sub"] == nkeys.from_seed(seed.encode()).public_key.decode()
        assert claims["nats"]["sub"]["allow"][0] == f"{inbox_prefix(identity)}.>"
    claims, _ = creds_parts((identities / "creds" / f"{SYSTEM_IDENTITY}.creds").read_text())
    assert claims["iss"] == authority.system_account_public_key


def test_server_config_takes_host_port_and_store_from_options(tmp_path: Path) -> None:
    store = tmp_path / "somewhere" / "js"
    run(
        "identities", "init", tmp_path / "ids",
        "--nats-host", "10.1.2.3", "--nats-port", "4333", "--store-dir", store,
    )  # fmt: skip
    conf = (tmp_path / "ids" / "server.conf").read_text()
    assert 'host: "10.1.2.3"' in conf
    assert "port: 4333" in conf
    assert f'store_dir: "{store}"' in conf
    assert f'dir: "{store / "accounts"}"' in conf


def test_container_defaults_listen_everywhere_and_store_under_data(tmp_path: Path) -> None:
    run("identities", "init", tmp_path / "ids")
    conf = (tmp_path / "ids" / "server.conf").read_text()
    assert 'host: "0.0.0.0"' in conf
    assert "port: 4222" in conf
    assert 'store_dir: "/data/jetstream"' in conf
    assert 'dir: "/data/jetstream/accounts"' in conf


def test_init_says_what_to_mount_where(tmp_path: Path) -> None:
    output = run("identities", "init", tmp_path / "ids")
    for expected in (
        "server.conf",
        "/etc/nats/server.conf",
        "creds/<service>.creds",
        "PRAKTOR_NATS_CREDS",
        "cli-admin.creds",
        "operator-signing.nk",
        "PRAKTOR_WEB_PASSWORD_FILE",
        "PRAKTOR_VAULT_PASSPHRASE_FILE",
        "POSTGRES_PASSWORD_FILE",
        "--for compose",
        "--for helm",
    ):
        assert expected in output, expected
    for secret in ("web-password", "vault-passphrase", "postgres-password"):
        value = (tmp_path / "ids" / "secrets" / secret).read_text().strip()
        assert value not in output  # paths are printed, never values


# --- export for compose ---------------------------------------------------------------------


def test_compose_export_gives_each_container_only_what_it_needs(
    identities: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run("identities", "export", identities, "--for", "compose", "--out", out)
    files = {
        c.name: {str(p.relative_to(c)) for p in c.rglob("*") if p.is_file()} for c in out.iterdir()
    }
    expected: dict[str, set[str]] = {
        service: {"nats.creds", "pgpass"} for service in SERVICE_CONTAINERS
    }
    expected["web"].add("web-password")
    expected["vault"].add("vault-passphrase")
    expected["orchestrator"] |= {f"authority/{f}" for f in ORCHESTRATOR_AUTHORITY_FILES}
    expected |= {
        "nats": {"server.conf"},
        "postgres": {"password"},
        "migrate": {"pgpass"},
        ADMIN_IDENTITY: {"nats.creds"},
    }
    assert files == expected
    for service in (*SERVICE_CONTAINERS, ADMIN_IDENTITY):
        exported = (out / service / "nats.creds").read_text()
        assert exported == (identities / "creds" / f"{service}.creds").read_text()
    assert (out / "nats" / "server.conf").read_bytes() == (identities / "server.conf").read_bytes()
    password = (identities / "secrets" / "postgres-password").read_text().strip()
    assert (out / "postgres" / "password").read_text().strip() == password
    assert (out / "router" / "pgpass").read_text() == f"*:*:*:praktor:{password}\n"
    for path in out.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_compose_export_is_owned_by_the_containers_user(identities: Path, tmp_path: Path) -> None:
    uid, gid = (4242, 4243) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    out = tmp_path / "out"
    export_compose(identities, out, owner=(uid, gid))
    for path in (p for c in out.iterdir() for p in (c, *c.rglob("*"))):
        assert (path.stat().st_uid, path.stat().st_gid) == (uid, gid), path


def test_compose_export_again_rewrites_the_same_files(identities: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_compose(identities, out)
    before = snapshot(out)
    export_compose(identities, out)
    assert snapshot(out) == before


def test_export_before_init_says_to_run_init(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        praktor(),
        ["identities", "export", str(tmp_path / "none"), "--for", "compose", "--out", "x"],
    )
    assert result.exit_code == 1
    assert "praktor identities init" in result.output


def test_export_needs_a_known_target(identities: Path) -> None:
    result = CliRunner().invoke(
        praktor(), ["identities", "export", str(identities), "--for", "k8s"]
    )
    assert result.exit_code == 1
    assert "compose or helm" in result.output


def test_pgpass_escapes_colons_and_backslashes() -> None:
    assert pgpass_line(r"a:b\c") == "*:*:*:praktor:a\\:b\\\\c\n"


# --- export for helm ------------------------------------------------------------------------


def _secrets(path: Path) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return {d["metadata"]["name"]: d for d in docs}


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_helm_export_writes_valid_kubernetes_secrets_and_says_what_to_run(
    identities: Path, tmp_path: Path
) -> None:
    path = tmp_path / "secrets.yaml"
    output = run(
        "identities", "export", identities, "--for", "helm", "--out", path, "--namespace", "ai"
    )
    assert mode(path) == 0o600
    secrets = _secrets(path)
    assert set(secrets) == {f"praktor-{s}" for s in HELM_SECRET_SUFFIXES}
    for secret in secrets.values():
        kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
        assert secret["metadata"]["namespace"] == "ai"
    assert f"kubectl apply --server-side -n ai -f {path}" in output
    assert "helm install praktor deploy/helm/praktor -n ai" in output


def test_helm_secrets_hold_the_same_files_as_the_directory(
    identities: Path, tmp_path: Path
) -> None:
    path = tmp_path / "secrets.yaml"
    run("identities", "export", identities, "--for", "helm", "--out", path)
    secrets = _secrets(path)
    assert _decoded(secrets["praktor-nats-server"]) == {
        "server.conf": (identities / "server.conf").read_text()
    }
    assert _decoded(secrets["praktor-nats-creds"]) == {
        f"{s}.creds": (identities / "creds" / f"{s}.creds").read_text()
        for s in (*SERVICE_CONTAINERS, ADMIN_IDENTITY)
    }
    assert _decoded(secrets["praktor-nats-authority"]) == {
        Path(f).name: (identities / f).read_text() for f in ORCHESTRATOR_AUTHORITY_FILES
    }
    assert "operator.nk" not in _decoded(secrets["praktor-nats-authority"])

    def secret_file(name: str) -> str:
        return (identities / "secrets" / name).read_text().strip()

    assert _decoded(secrets["praktor-postgres"]) == {"password": secret_file("postgres-password")}
    assert _decoded(secrets["praktor-web"]) == {"password": secret_file("web-password")}
    assert _decoded(secrets["praktor-vault"]) == {"passphrase": secret_file("vault-passphrase")}


def test_helm_export_with_another_prefix_says_which_values_to_set(
    identities: Path, tmp_path: Path
) -> None:
    path = tmp_path / "s.yaml"
    output = run(
        "identities", "export", identities, "--for", "helm", "--out", path, "--name-prefix", "pk"
    )
    assert set(_secrets(path)) == {f"pk-{s}" for s in HELM_SECRET_SUFFIXES}
    assert "--set secrets.natsCreds=pk-nats-creds" in output
    assert "--set secrets.vault=pk-vault" in output


def test_helm_export_defaults_to_a_file_in_the_directory(identities: Path) -> None:
    run("identities", "export", identities, "--for", "helm")
    assert mode(identities / "praktor-secrets.yaml") == 0o600


# --- against a real nats-server -------------------------------------------------------------


class RunningNats:
    def __init__(self, directory: Path, server: EmbeddedNats) -> None:
        self.directory = directory
        self.server = server

    async def connect(self, creds: Path, identity: str, **kwargs: Any) -> Client:
        client: Client = await nats.connect(
            self.server.url,
            user_credentials=str(creds),
            inbox_prefix=inbox_prefix(identity).encode(),
            **{"allow_reconnect": False, "connect_timeout": 3, **kwargs},
        )
        return client


@pytest.fixture
def nats_from_init(tmp_path: Path) -> Iterator[RunningNats]:
    """nats-server started from exactly the server.conf that `identities init` wrote."""
    port = free_port()
    directory = tmp_path / "ids"
    run(
        "identities", "init", directory,
        "--nats-host", "127.0.0.1", "--nats-port", str(port), "--store-dir", tmp_path / "js",
    )  # fmt: skip
    server = EmbeddedNats(
        config_file=directory / "server.conf",
        host="127.0.0.1",
        port=port,
        log_file=tmp_path / "nats.log",
    )
    server.start()
    try:
        yield RunningNats(directory, server)
    finally:
        server.stop()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    opened: list[Client] = []
    yield opened
    for client in opened:
        await client.close()


@pytest.mark.integration
@pytest.mark.parametrize("identity", SERVICES)
async def test_the_generated_server_accepts_every_service_creds(
    nats_from_init: RunningNats, clients: list[Client], identity: str
) -> None:
    creds = nats_from_init.directory / "creds" / f"{identity}.creds"
    client = await nats_from_init.connect(creds, identity)
    clients.append(client)
    await client.flush(timeout=2)
    assert client.is_connected


@pytest.mark.integration
async def test_the_admin_can_declare_the_streams_on_the_generated_server(
    nats_from_init: RunningNats, clients: list[Client]
) -> None:
    creds = nats_from_init.directory / "creds" / f"{ADMIN_IDENTITY}.creds"
    admin = await nats_from_init.connect(creds, ADMIN_IDENTITY)
    clients.append(admin)
    js = admin.jetstream()
    await streams.ensure_streams(js)
    names = {info.config.name for info in await js.streams_info()}
    assert {spec.name for spec in streams.STREAMS} <= names


@pytest.mark.integration
async def test_the_generated_server_refuses_creds_of_another_install(
    nats_from_init: RunningNats, clients: list[Client], tmp_path: Path
) -> None:
    async def admitted(creds: Path) -> bool:
        try:
            client = await nats_from_init.connect(creds, "router")
        except (nats.errors.Error, TimeoutError):
            return False
        # nats-py returns a closed client when the server drops it during the handshake
        clients.append(client)
        return client.is_connected

    stranger = init_identities(tmp_path / "other", store_dir=tmp_path / "other-js")
    assert not await admitted(stranger.creds["router"])
    assert await admitted(nats_from_init.directory / "creds" / "router.creds")


@pytest.mark.integration
async def test_the_orchestrators_export_alone_mints_and_revokes_agent_credentials(
    nats_from_init: RunningNats, clients: list[Client], tmp_path: Path
) -> None:
    out = tmp_path / "export"
    export_compose(nats_from_init.directory, out)
    directory = out / "orchestrator" / "authority"
    files_before = {p for p in directory.rglob("*") if p.name != ".lock"}
    authority = Authority.load(directory)
    issuer = AgentCredentialIssuer(
        authority, await connect_system(authority, nats_from_init.server.url)
    )
    try:
        creds = await issuer.issue("coder", expires_in=timedelta(minutes=5))
        closed = asyncio.Event()

        async def on_closed() -> None:
            closed.set()

        async def quiet(_: Exception) -> None:
            return None

        agent: Client = await nats.connect(
            nats_from_init.server.url,
            user_credentials=creds.raw(),
            inbox_prefix=creds.inbox_prefix.encode(),
            closed_cb=on_closed,
            error_cb=quiet,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
        )
        clients.append(agent)
        await agent.flush(timeout=2)

        assert await issuer.revoke("coder") is True
        await asyncio.wait_for(closed.wait(), timeout=10)
        assert str(agent.last_error) == "nats: user authentication revoked"
    finally:
        await issuer.close()
    # it is mounted read-only: nothing it needs may be missing (created on the fly)
    assert {p for p in directory.rglob("*") if p.name != ".lock"} == files_before
