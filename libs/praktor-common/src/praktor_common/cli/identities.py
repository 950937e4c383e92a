"""``praktor identities init | export``: the bus identities for compose and Kubernetes.

``praktor up`` keeps its identities in ``<data dir>/nats`` by itself. A suite
run from images (``deploy/compose``, ``deploy/helm``) gets them from here:

``init DIR``
    creates the authority in ``DIR`` (or loads it: keys are never
    regenerated), writes ``DIR/server.conf`` for the NATS container,
    ``DIR/creds/<identity>.creds`` for every service, ``cli-admin`` and
    ``sys-admin``, and the suite's first-run secrets in ``DIR/secrets/``
    (Mission Control password, vault passphrase, PostgreSQL password; made
    once, never regenerated). Everything 0600, directories 0700.

``export DIR --for compose --out OUT``
    lays out one directory per container under ``OUT`` holding only what that
    container needs (``OUT/router/nats.creds``, ``OUT/nats/server.conf``, …):
    the compose ``init`` service mounts one named volume at each of them.

``export DIR --for helm``
    writes Kubernetes Secrets (one YAML file) that the chart mounts.

The orchestrator mints and revokes agent credentials, so besides its creds it
gets :data:`ORCHESTRATOR_AUTHORITY_FILES`: the operator's *signing* key, the
account keys and JWTs, and ``sys-admin``'s key (it pushes revocations). It
never gets ``operator.nk``, which stays in ``DIR``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import typer
import yaml
from rich.console import Console

from praktor_common.identities import SERVICES, SYSTEM_IDENTITY, Authority, AuthorityError
from praktor_common.identities.credentials import write_private
from praktor_common.identities.permissions import ADMIN_IDENTITY
from praktor_common.supervisor.layout import FirstRunSecret, ensure_secret

identities_app = typer.Typer(
    help="Create and export the NATS identities (and first-run secrets) for compose / Kubernetes.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

DEFAULT_NATS_HOST: Final = "0.0.0.0"
DEFAULT_NATS_PORT: Final = 4222
DEFAULT_STORE_DIR: Final = Path("/data/jetstream")
SERVER_CONF: Final = "server.conf"

#: The services that run as containers (every service identity but ``cli-admin``).
SERVICE_CONTAINERS: Final = tuple(s for s in SERVICES if s != ADMIN_IDENTITY)

#: What :meth:`Authority.load` needs to mint and revoke agent credentials.
ORCHESTRATOR_AUTHORITY_FILES: Final = (
    "operator.jwt",
    "operator-signing.nk",
    "accounts/SYS.nk",
    "accounts/SYS.jwt",
    "accounts/PRAKTOR.nk",
    "accounts/PRAKTOR-signing.nk",
    "accounts/PRAKTOR.jwt",
    f"users/{SYSTEM_IDENTITY}.nk",
)

DATABASE_ROLE: Final = "praktor"

# first-run secrets: file names in DIR/secrets (the same as `praktor up`'s data directory)
WEB_PASSWORD: Final = "web-password"  # noqa: S105 - a file name
VAULT_PASSPHRASE: Final = "vault-passphrase"  # noqa: S105 - a file name
POSTGRES_PASSWORD: Final = "postgres-password"  # noqa: S105 - a file name
_SECRETS: Final = (
    (WEB_PASSWORD, "Mission Control password", 24),
    (VAULT_PASSPHRASE, "Vault passphrase", 32),
    (POSTGRES_PASSWORD, "PostgreSQL password", 24),
)

#: Names of the Kubernetes Secrets ``export --for helm`` writes (after the prefix).
HELM_SECRET_SUFFIXES: Final = (
    "nats-server",
    "nats-creds",
    "nats-authority",
    "postgres",
    "web",
    "vault",
)

Target = Literal["compose", "helm"]


class ExportError(RuntimeError):
    """The directory cannot be exported (not initialised, or a file is missing)."""


@dataclass(frozen=True)
class InitResult:
    """Where ``init`` put everything."""

    directory: Path
    server_conf: Path
    creds: Mapping[str, Path]
    secrets: tuple[FirstRunSecret, ...]
    nats_host: str
    nats_port: int
    store_dir: Path


def _creds_path(directory: Path, identity: str) -> Path:
    return directory / "creds" / f"{identity}.creds"


def init_identities(
    directory: Path,
    *,
    nats_host: str = DEFAULT_NATS_HOST,
    nats_port: int = DEFAULT_NATS_PORT,
    store_dir: Path = DEFAULT_STORE_DIR,
    server_name: str = "praktor",
) -> InitResult:
    """Create or load the authority in ``directory``; write server config, creds, secrets.

    Idempotent: existing keys and secrets are kept, creds files are rewritten
    only when their grant changed, ``server.conf`` is written afresh (it
    preloads the current account JWT).
    """
    authority = Authority.load_or_create(directory)
    server_conf = directory / SERVER_CONF
    write_private(
        server_conf,
        authority.nats_server_config(nats_host, nats_port, store_dir, server_name=server_name),
    )
    authority.write_service_creds(directory)
    creds = {
        identity: _creds_path(directory, identity) for identity in (*SERVICES, SYSTEM_IDENTITY)
    }
    secrets_dir = directory / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    secrets_dir.chmod(0o700)
    secrets = tuple(
        ensure_secret(label, secrets_dir / name, nbytes=nbytes) for name, label, nbytes in _SECRETS
    )
    return InitResult(
        directory=directory,
        server_conf=server_conf,
        creds=creds,
        secrets=secrets,
        nats_host=nats_host,
        nats_port=nats_port,
        store_dir=store_dir,
    )


# --- export: what each container gets ----------------------------------------------------


def _read(directory: Path, relative: str) -> str:
    path = directory / relative
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ExportError(
            f"{path} is missing: run `praktor identities init {directory}` first"
        ) from None


def _secret(directory: Path, name: str) -> str:
    return _read(directory, f"secrets/{name}").strip()


def pgpass_line(password: str, role: str = DATABASE_ROLE) -> str:
    """A libpq / asyncpg password file entry for ``role`` on any host, port and database."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"*:*:*:{role}:{escaped}\n"


def compose_layout(directory: Path) -> dict[str, dict[str, str]]:
    """Container → {relative file → content}: what each compose container mounts.

    Each key is one directory (one named volume in ``deploy/compose``); a
    container sees only its own. Database clients get a ``pgpass`` file
    (``PGPASSFILE``), so no password is in any environment.
    """
    try:
        Authority.load(directory)
    except AuthorityError as exc:
        raise ExportError(f"{exc} (run `praktor identities init {directory}` first)") from None
    pgpass = pgpass_line(_secret(directory, POSTGRES_PASSWORD))
    layout: dict[str, dict[str, str]] = {
        "nats": {SERVER_CONF: _read(directory, SERVER_CONF)},
        "postgres": {"password": _secret(directory, POSTGRES_PASSWORD) + "\n"},
        "migrate": {"pgpass": pgpass},
        ADMIN_IDENTITY: {"nats.creds": _read(directory, f"creds/{ADMIN_IDENTITY}.creds")},
    }
    for service in SERVICE_CONTAINERS:
        layout[service] = {
            "nats.creds": _read(directory, f"creds/{service}.creds"),
            "pgpass": pgpass,
        }
    layout["web"][WEB_PASSWORD] = _secret(directory, WEB_PASSWORD) + "\n"
    layout["vault"][VAULT_PASSPHRASE] = _secret(directory, VAULT_PASSPHRASE) + "\n"
    for relative in ORCHESTRATOR_AUTHORITY_FILES:
        layout["orchestrator"][f"authority/{relative}"] = _read(directory, relative)
    return layout


def parse_owner(text: str) -> tuple[int, int]:
    """``"UID:GID"`` or ``"UID"`` (then GID = UID)."""
    uid, _, gid = text.partition(":")
    try:
        return int(uid), int(gid or uid)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not UID:GID (numbers)") from None


def export_compose(
    directory: Path, out: Path, owner: tuple[int, int] | None = None
) -> dict[str, list[Path]]:
    """Write :func:`compose_layout` under ``out`` (dirs 0700, files 0600, owned by ``owner``)."""
    written: dict[str, list[Path]] = {}
    for container, files in compose_layout(directory).items():
        root = out / container
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for relative, text in files.items():
            path = root / relative
            for parent in _parents_within(root, path):
                parent.mkdir(mode=0o700, exist_ok=True)
                parent.chmod(0o700)
            write_private(path, text)
            written.setdefault(container, []).append(path)
        if owner is not None:
            for path in (root, *root.rglob("*")):
                os.chown(path, *owner)
    return written


def _parents_within(root: Path, path: Path) -> list[Path]:
    """``root`` and every directory between it and ``path``, outermost first."""
    parents = [root]
    for part in path.relative_to(root).parts[:-1]:
        parents.append(parents[-1] / part)
    return parents


def _secret_manifest(
    name: str, data: Mapping[str, str], namespace: str | None, component: str
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {
            "app.kubernetes.io/part-of": "praktor",
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "praktor-identities",
        },
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {
            key: base64.b64encode(value.encode()).decode() for key, value in sorted(data.items())
        },
    }


def helm_secrets(
    directory: Path, *, name_prefix: str = "praktor", namespace: str | None = None
) -> list[dict[str, Any]]:
    """The Kubernetes Secrets the chart mounts (names ``<prefix>-<suffix>``).

    Keys: ``server.conf``; ``<identity>.creds`` per service and ``cli-admin``;
    the orchestrator's authority files by base name (the chart maps them back
    to their paths); ``password`` / ``passphrase`` for PostgreSQL, Mission
    Control and the vault.
    """
    layout = compose_layout(directory)
    creds = {f"{s}.creds": layout[s]["nats.creds"] for s in (*SERVICE_CONTAINERS, ADMIN_IDENTITY)}
    authority = {
        Path(relative).name: layout["orchestrator"][f"authority/{relative}"]
        for relative in ORCHESTRATOR_AUTHORITY_FILES
    }
    contents: dict[str, tuple[str, Mapping[str, str]]] = {
        "nats-server": ("nats", {SERVER_CONF: layout["nats"][SERVER_CONF]}),
        "nats-creds": ("nats-identities", creds),
        "nats-authority": ("orchestrator", authority),
        "postgres": ("postgres", {"password": _secret(directory, POSTGRES_PASSWORD)}),
        "web": ("web", {"password": _secret(directory, WEB_PASSWORD)}),
        "vault": ("vault", {"passphrase": _secret(directory, VAULT_PASSPHRASE)}),
    }
    manifests = []
    for suffix in HELM_SECRET_SUFFIXES:
        component, data = contents[suffix]
        manifests.append(_secret_manifest(f"{name_prefix}-{suffix}", data, namespace, component))
    return manifests


def export_helm(
    directory: Path, out: Path, *, name_prefix: str = "praktor", namespace: str | None = None
) -> list[str]:
    """Write the Secrets of :func:`helm_secrets` to ``out`` (0600); returns their names."""
    manifests = helm_secrets(directory, name_prefix=name_prefix, namespace=namespace)
    header = (
        "# Praktor NATS identities and first-run secrets, written by "
        "`praktor identities export --for helm`.\n# Keep this file private; "
        "apply it with `kubectl apply --server-side -f` (no copy in an annotation).\n"
    )
    write_private(out, header + yaml.safe_dump_all(manifests, sort_keys=False))
    return [str(m["metadata"]["name"]) for m in manifests]


# --- commands -------------------------------------------------------------------------


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code=1)


def _print_mounts(result: InitResult) -> None:
    d = result.directory
    say = console.print
    say(f"[green]✓[/] NATS identities in {d} (existing keys kept; files 0600)", soft_wrap=True)
    say(
        f"[green]✓[/] {result.server_conf}: listens on {result.nats_host}:{result.nats_port}, "
        f"JetStream store {result.store_dir}, account resolver {result.store_dir / 'accounts'}",
        soft_wrap=True,
    )
    say(
        f"[green]✓[/] {d / 'creds'}/: {', '.join(f'{i}.creds' for i in result.creds)}",
        soft_wrap=True,
    )
    for secret in result.secrets:
        state = "created" if secret.created else "kept"
        say(f"[green]✓[/] {secret.name} {state}: {secret.path}", soft_wrap=True)
    say(f"\nMount into each container, read-only (files in {d}):", soft_wrap=True)
    rows: Iterable[tuple[str, str, str]] = (
        ("nats", SERVER_CONF, "/etc/nats/server.conf (nats-server -c)"),
        ("nats", "a persistent volume", f"{result.store_dir} (read-write)"),
        ("each service", "creds/<service>.creds", "PRAKTOR_NATS_CREDS (its own file only)"),
        ("bus init, config publisher", f"creds/{ADMIN_IDENTITY}.creds", "PRAKTOR_NATS_CREDS"),
        (
            "orchestrator",
            ", ".join(ORCHESTRATOR_AUTHORITY_FILES),
            "one directory, same relative paths (it mints and revokes agent credentials)",
        ),
        ("web", f"secrets/{WEB_PASSWORD}", "PRAKTOR_WEB_PASSWORD_FILE"),
        ("vault", f"secrets/{VAULT_PASSPHRASE}", "PRAKTOR_VAULT_PASSPHRASE_FILE"),
        ("postgres", f"secrets/{POSTGRES_PASSWORD}", "POSTGRES_PASSWORD_FILE (first start)"),
        ("services, migrate", f"secrets/{POSTGRES_PASSWORD}", "PGPASSWORD, or a PGPASSFILE"),
    )
    for who, what, where in rows:
        say(f"  [bold]{who}[/]: {what} → {where}", soft_wrap=True, highlight=False)
    say(
        f"{d / 'operator.nk'} is the trust root: it never leaves {d}.\n"
        f"Next: `praktor identities export {d} --for compose --out DIR` (one directory per "
        f"container) or `praktor identities export {d} --for helm` (Kubernetes Secrets).",
        soft_wrap=True,
    )


@identities_app.command("init")
def init_command(
    directory: Annotated[Path, typer.Argument(help="where the authority lives (created 0700)")],
    nats_host: Annotated[
        str, typer.Option(help="address nats-server listens on (in its container)")
    ] = DEFAULT_NATS_HOST,
    nats_port: Annotated[int, typer.Option(help="nats-server client port")] = DEFAULT_NATS_PORT,
    store_dir: Annotated[
        Path,
        typer.Option(
            help="JetStream store inside the NATS container; the resolver uses <it>/accounts"
        ),
    ] = DEFAULT_STORE_DIR,
    server_name: Annotated[str, typer.Option(help="nats-server's name")] = "praktor",
) -> None:
    """Create (or load) the identities in DIR: server.conf, creds for every service, secrets."""
    try:
        result = init_identities(
            directory,
            nats_host=nats_host,
            nats_port=nats_port,
            store_dir=store_dir,
            server_name=server_name,
        )
    except (AuthorityError, OSError) as exc:
        raise _fail(str(exc)) from None
    _print_mounts(result)


@identities_app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="a directory made by `identities init`")],
    target: Annotated[
        str, typer.Option("--for", help="compose: one directory per container; helm: Secrets")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="compose: the root of the per-container directories (required); "
            "helm: the YAML file (default DIR/praktor-secrets.yaml)"
        ),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(help="compose: chown what is written to UID:GID (the containers' user)"),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="helm: the namespace to put in the Secrets")
    ] = None,
    name_prefix: Annotated[str, typer.Option(help="helm: Secret names start with this")] = (
        "praktor"
    ),
) -> None:
    """Export DIR for compose (a directory per container) or Helm (Kubernetes Secrets)."""
    if target not in ("compose", "helm"):
        raise _fail(f"--for must be compose or helm, not {target!r}")
    try:
        if target == "compose":
            if out is None:
                raise _fail("--for compose needs --out DIR (where the per-container dirs go)")
            written = export_compose(directory, out, parse_owner(owner) if owner else None)
            for container, paths in written.items():
                listed = ", ".join(str(p.relative_to(out / container)) for p in paths)
                console.print(f"[green]✓[/] {out / container}: {listed}", soft_wrap=True)
            console.print(
                "Mount each directory read-only into its container only "
                "(deploy/compose/compose.yaml does this with one volume per container).",
                soft_wrap=True,
            )
            return
        path = out or directory / "praktor-secrets.yaml"
        names = export_helm(directory, path, name_prefix=name_prefix, namespace=namespace)
    except (ExportError, OSError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"[green]✓[/] {path} (0600): Secrets {', '.join(names)}", soft_wrap=True)
    ns = f" -n {namespace}" if namespace else " -n NAMESPACE"
    console.print("\nNext:")
    if namespace:
        console.print(f"  kubectl create namespace {namespace}   # if it does not exist")
    console.print(f"  kubectl apply --server-side{ns} -f {path}", soft_wrap=True)
    overrides = ""
    if name_prefix != "praktor":
        keys = ("natsServer", "natsCreds", "natsAuthority", "postgres", "web", "vault")
        overrides = "".join(
            f" \\\n      --set secrets.{key}={name_prefix}-{suffix}"
            for key, suffix in zip(keys, HELM_SECRET_SUFFIXES, strict=True)
        )
    console.print(f"  helm install praktor deploy/helm/praktor{ns}{overrides}")
    console.print(
        f"Then keep {path} somewhere safe, or delete it: the cluster has the Secrets.",
        soft_wrap=True,
    )
