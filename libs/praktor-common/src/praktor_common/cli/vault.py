"""``praktor vault``: manage secrets through the vault service (spec §10.3).

The CLI never holds the vault passphrase's key and never sees a value: it
speaks to the vault service over the bus as ``cli-admin``, which may create,
change and delete secrets and read their metadata, but cannot resolve values
(``svc.vault.resolve`` is denied to it). Reaches the bus like ``praktor dlq``:
``PRAKTOR_NATS_URL`` / ``PRAKTOR_NATS_CREDS``, else the suite ``praktor up``
runs from the data directory.

``rotate`` changes the passphrase. The vault re-encrypts every secret in two
phases and confirms only once the switch is committed. When the CLI knows the
passphrase file (``--passphrase-file``, ``PRAKTOR_VAULT_PASSPHRASE_FILE``, or
``<data dir>/secrets/vault-passphrase`` under ``praktor up``), it keeps the
new passphrase in ``<file>.new`` while it waits and moves it over the file
(atomically) once the vault confirmed; otherwise it says where to update it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import nats.errors
import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.table import Table

from praktor_common.cli.dlq import NotReachableError, reach_admin
from praktor_common.contracts import vault as contracts
from praktor_common.contracts.base import Contract
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.settings import RuntimeSettings

vault_app = typer.Typer(
    help="Manage secrets in the vault (values never leave it).", invoke_without_command=True
)
console = Console()
err = Console(stderr=True)


@vault_app.callback()
def usage(ctx: typer.Context) -> None:
    """Without a command: the usage, and exit 0 (spec §10.3)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(code=0)


RepT = TypeVar("RepT", bound=Contract)

REQUEST_TIMEOUT: Final = 15.0
ROTATE_TIMEOUT: Final = 120.0
PASSPHRASE_FILE_ENV: Final = "PRAKTOR_VAULT_PASSPHRASE_FILE"  # noqa: S105 - a variable name
PASSPHRASE_ENV: Final = "PRAKTOR_VAULT_PASSPHRASE"  # noqa: S105 - a variable name
PENDING_SUFFIX: Final = ".new"
MAX_FILE_BYTES: Final = contracts.MAX_SECRET_CHARS // 4 * 3
"""Largest file secret: its base64 must fit the request's value."""


class VaultCliError(Exception):
    """What to tell the user; exit code 1."""


class NoConfirmationError(VaultCliError):
    """The vault did not answer: a change may or may not have happened."""


# --------------------------------------------------------------------------- talking to the vault


async def request(
    settings: RuntimeSettings,
    command: Command[Any, RepT],
    body: Contract,
    timeout: float = REQUEST_TIMEOUT,
) -> RepT:
    """Send ``command`` to the vault as ``cli-admin``; its reply, or :class:`VaultCliError`."""
    client = await reach_admin(settings)
    try:
        message = await client.request(
            command.subject, body.model_dump_json().encode(), timeout=timeout
        )
    except nats.errors.NoRespondersError:
        raise VaultCliError(
            "the vault service is not running (nobody answers on svc.vault.*): "
            "start Praktor with `praktor up`, or check `praktor status`"
        ) from None
    except nats.errors.TimeoutError:
        raise NoConfirmationError(
            f"the vault service did not answer within {timeout:g} s"
        ) from None
    except (nats.errors.Error, OSError) as exc:
        raise NoConfirmationError(f"the connection failed: {exc or type(exc).__name__}") from None
    finally:
        await client.close()
    reply = command.parse_reply(message.data)
    if isinstance(reply, ServiceError):
        raise VaultCliError(reply.error)
    return reply


def _run(command: Command[Any, RepT], body: Contract, timeout: float = REQUEST_TIMEOUT) -> RepT:
    try:
        return asyncio.run(request(RuntimeSettings(), command, body, timeout))
    except (VaultCliError, NotReachableError) as exc:
        raise _fail(str(exc)) from None
    except (nats.errors.Error, OSError) as exc:
        raise _fail(f"NATS: {exc}") from None


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code=1)


def _build(model: type[RepT], **fields: Any) -> RepT:
    """A request contract, or a readable error (the input's values are never echoed)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise _fail(problems) from None


# --------------------------------------------------------------------------- showing secrets


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def secrets_table(secrets: list[contracts.SecretInfo]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAME", "KIND", "GLOBAL", "DESCRIPTION", "AGENTS"):
        table.add_column(column, overflow="fold")
    for secret in secrets:
        table.add_row(
            secret.name,
            secret.kind,
            _yes(secret.is_global),
            secret.description,
            ", ".join(secret.agent_ids),
        )
    return table


def _show(secret: contracts.SecretInfo) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("name", secret.name)
    table.add_row("kind", secret.kind)
    if secret.filename:
        table.add_row("file", secret.filename)
    table.add_row("global", "yes" if secret.is_global else "no")
    table.add_row("description", secret.description)
    table.add_row("agents", ", ".join(secret.agent_ids))
    table.add_row("created", secret.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    table.add_row("updated", secret.updated_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    console.print(table)


# --------------------------------------------------------------------------- commands


Name = Annotated[str, typer.Argument(help="the secret's name (also its id)")]
Agent = Annotated[str, typer.Argument(help="the agent's id")]


def _value_from(
    value: str | None, file: Path | None, stdin: bool
) -> tuple[str, contracts.ValueEncoding, str | None] | None:
    """(value, encoding, filename) from the one source given; None when none was."""
    given = [source for source in (value is not None, file is not None, stdin) if source]
    if len(given) > 1:
        raise _fail("give the value one way: VALUE, --file or --stdin")
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror or type(exc).__name__}") from None
        if len(data) > MAX_FILE_BYTES:
            raise _fail(
                f"{file} has {len(data)} bytes; a file secret holds at most {MAX_FILE_BYTES}"
            )
        return base64.b64encode(data).decode("ascii"), "base64", file.name
    if stdin:
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(data).decode("ascii"), "base64", None
        return text.removesuffix("\n").removesuffix("\r"), "text", None
    if value is not None:
        return value, "text", None
    return None


@vault_app.command("set")
def set_command(
    name: Name,
    value: Annotated[
        str | None,
        typer.Argument(help="the value (visible in your shell history: prefer a prompt)"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="a file secret: the file's bytes, exactly", dir_okay=False),
    ] = None,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="read the value from stdin (one final newline dropped)")
    ] = False,
    description: Annotated[str | None, typer.Option(help="what the secret is for")] = None,
    is_global: Annotated[
        bool | None,
        typer.Option("--global/--no-global", help="every agent may use it (kept when not given)"),
    ] = None,
) -> None:
    """Create or replace a secret. Without a value (and nothing else to change) it asks for one."""
    source = _value_from(value, file, stdin)
    if source is None and description is None and is_global is None:
        prompted = typer.prompt(
            f"Value of {name}", hide_input=True, confirmation_prompt=True, show_default=False
        )
        source = (prompted, "text", None)
    fields: dict[str, Any] = {"name": name, "description": description, "is_global": is_global}
    if source is not None:
        text, encoding, filename = source
        fields |= {"value": SecretStr(text), "encoding": encoding, "filename": filename}
        if file is not None:
            fields["kind"] = "file"
    reply = _run(contracts.SECRET_SET, _build(contracts.SecretSetRequest, **fields))
    secret = reply.secret
    scope = "global" if secret.is_global else "assigned agents only"
    console.print(
        f"[green]✓[/] secret {secret.name} saved ({secret.kind}, {scope})", soft_wrap=True
    )


@vault_app.command("get")
def get_command(name: Name) -> None:
    """Show a secret's metadata (the value never leaves the vault)."""
    reply = _run(contracts.SECRET_GET, _build(contracts.SecretNameRequest, name=name))
    _show(reply.secret)


@vault_app.command("list")
def list_command(
    agent: Annotated[
        str | None, typer.Option("--agent", help="only the secrets this agent may use")
    ] = None,
) -> None:
    """List secrets: NAME KIND GLOBAL DESCRIPTION AGENTS."""
    reply = _run(contracts.SECRET_LIST, _build(contracts.SecretListRequest, agent_id=agent))
    if not reply.secrets:
        console.print("no secrets")
        return
    console.print(secrets_table(reply.secrets))


@vault_app.command("delete")
def delete_command(name: Name) -> None:
    """Delete a secret and its assignments."""
    reply = _run(contracts.SECRET_DELETE, _build(contracts.SecretNameRequest, name=name))
    if not reply.deleted:
        raise _fail(f"no secret {name!r}")
    console.print(f"[green]✓[/] secret {name} deleted", soft_wrap=True)


@vault_app.command("assign")
def assign_command(name: Name, agent: Agent) -> None:
    """Let an agent use a secret."""
    _run(
        contracts.SECRET_ASSIGN,
        _build(contracts.SecretAssignRequest, agent_id=agent, names=[name]),
    )
    console.print(f"[green]✓[/] {agent} may use {name}", soft_wrap=True)


@vault_app.command("unassign")
def unassign_command(name: Name, agent: Agent) -> None:
    """Take a secret from an agent (a global secret stays usable by every agent)."""
    _run(
        contracts.SECRET_UNASSIGN,
        _build(contracts.SecretUnassignRequest, agent_id=agent, names=[name]),
    )
    console.print(f"[green]✓[/] {name} is no longer assigned to {agent}", soft_wrap=True)


# --------------------------------------------------------------------------- rotate


def read_passphrase(path: Path) -> str:
    """A passphrase file's content without one trailing line ending (as the vault reads it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read a passphrase from {path}: {type(exc).__name__}") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise _fail(f"{path} is empty")
    return value


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` (0600) atomically: a temporary file renamed over it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def pending_file(path: Path) -> Path:
    return path.with_name(path.name + PENDING_SUFFIX)


def vault_passphrase_file(settings: RuntimeSettings, given: Path | None) -> Path | None:
    """The file the vault reads its passphrase from, when the CLI can know it."""
    if given is not None:
        return given
    from_env = os.environ.get(PASSPHRASE_FILE_ENV, "").strip()
    if from_env:
        return Path(from_env)
    from praktor_common.supervisor.layout import DataLayout

    default = DataLayout(settings.data_dir).vault_passphrase_file
    return default if default.exists() else None


def _current_passphrase(given: Path | None, target: Path | None) -> str:
    if given is not None:
        return read_passphrase(given)
    if target is not None and target.exists():
        return read_passphrase(target)
    from_env = os.environ.get(PASSPHRASE_ENV, "")
    if from_env:
        return from_env
    prompted: str = typer.prompt("Current vault passphrase", hide_input=True)
    return prompted


def _new_passphrase(given: Path | None) -> str:
    if given is not None:
        return read_passphrase(given)
    prompted: str = typer.prompt("New vault passphrase", hide_input=True, confirmation_prompt=True)
    return prompted


@vault_app.command("rotate")
def rotate_command(
    new_passphrase_file: Annotated[
        Path | None,
        typer.Option(help="read the new passphrase from this file instead of asking twice"),
    ] = None,
    current_passphrase_file: Annotated[
        Path | None,
        typer.Option(help="read the current passphrase from this file (default: the vault's)"),
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            help="the file the vault reads its passphrase from, to update once the vault "
            f"confirmed (default: ${PASSPHRASE_FILE_ENV}, or the one `praktor up` made)"
        ),
    ] = None,
) -> None:
    """Change the vault passphrase: every secret is re-encrypted, nothing is lost on failure."""
    settings = RuntimeSettings()
    target = vault_passphrase_file(settings, passphrase_file)
    current = _current_passphrase(current_passphrase_file, target)
    new = _new_passphrase(new_passphrase_file)
    if new == current:
        raise _fail("the new passphrase is the current one")
    body = _build(
        contracts.SecretRotateRequest,
        current_passphrase=SecretStr(current),
        new_passphrase=SecretStr(new),
    )
    pending = pending_file(target) if target is not None else None
    if pending is not None:
        write_private(pending, new + "\n")
    try:
        reply = asyncio.run(request(settings, contracts.SECRET_ROTATE, body, ROTATE_TIMEOUT))
    except NoConfirmationError as exc:
        kept = f" The new passphrase is kept in {pending}." if pending is not None else ""
        raise _fail(
            f"no confirmation from the vault ({exc}): the rotation may or may not have "
            f"happened.{kept} Restart the vault: if it refuses the old passphrase, use the "
            "new one."
        ) from None
    except (VaultCliError, NotReachableError) as exc:
        if pending is not None:
            pending.unlink(missing_ok=True)
        raise _fail(f"{exc} — the passphrase was not changed") from None
    console.print(
        f"[green]✓[/] vault passphrase changed; {reply.rotated} secret(s) re-encrypted",
        soft_wrap=True,
    )
    if pending is not None and target is not None:
        os.replace(pending, target)
        _sync_directory(target.parent)
        console.print(
            f"The new passphrase is in {target}. If you also keep it elsewhere "
            f"({PASSPHRASE_ENV}, `vault.passphrase` in the config, a Kubernetes Secret), "
            "update it there too: the vault starts only with the new one.",
            soft_wrap=True,
        )
    else:
        console.print(
            "Update the passphrase where the vault reads it "
            f"({PASSPHRASE_FILE_ENV}'s file, {PASSPHRASE_ENV}, or `vault.passphrase` in the "
            "config) before the vault restarts: it starts only with the new one.",
            soft_wrap=True,
        )
