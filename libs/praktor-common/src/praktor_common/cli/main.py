"""The ``praktor`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from praktor_common import __version__
from praktor_common.cli.agent_image import agent_image_app
from praktor_common.cli.chat import chat
from praktor_common.cli.dlq import dlq_app
from praktor_common.cli.identities import identities_app
from praktor_common.cli.telegram import telegram_app
from praktor_common.cli.vault import vault_app
from praktor_common.settings import RuntimeSettings

app = typer.Typer(
    name="praktor",
    help="Praktor: your self-hosted personal AI assistant.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(dlq_app, name="dlq", help="Inspect and replay dead letters.")
app.add_typer(vault_app, name="vault", help="Manage secrets in the vault (values never leave it).")
app.add_typer(telegram_app, name="telegram", help="Decide who may talk to the Telegram bot.")
app.add_typer(
    identities_app,
    name="identities",
    help="Create and export the NATS identities for compose / Kubernetes.",
)
app.add_typer(agent_image_app, name="agent-image", help="Build the agent image.")
app.command(name="chat")(chat)
bus_app = typer.Typer(help="Prepare the bus (streams and consumers).", no_args_is_help=True)
app.add_typer(bus_app, name="bus")
config_app = typer.Typer(help="Check and publish the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console()
err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print the Praktor version."""
    console.print(f"praktor {__version__}")


@app.command()
def up() -> None:
    """Run the whole suite on this machine (embedded NATS and PostgreSQL unless configured)."""
    from praktor_common.config.errors import ConfigError
    from praktor_common.supervisor.up import UpError, run_up

    try:
        asyncio.run(run_up(RuntimeSettings(), console))
    except (UpError, ConfigError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def service(name: Annotated[str, typer.Argument(help="the service to run, e.g. router")]) -> None:
    """Run one service in the foreground (what each container runs)."""
    from praktor_common.runtime.runner import main as run_service
    from praktor_common.supervisor.services import UnknownServiceError, service_spec

    try:
        spec = service_spec(name)
    except UnknownServiceError as exc:
        raise _fail(str(exc)) from None
    run_service(spec)


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show each service: state, pid, health URL, ready or not."""
    from praktor_common.supervisor.layout import DataLayout
    from praktor_common.supervisor.state import probe, read_state, status_json

    settings = RuntimeSettings()
    state = read_state(DataLayout(settings.data_dir).state_file)
    result = asyncio.run(probe(state))
    if as_json:
        print(status_json(result))
        raise typer.Exit(code=0 if result.running else 1)
    if not result.running:
        console.print(f"Praktor is not running on {settings.data_dir}. Start it with `praktor up`.")
        raise typer.Exit(code=1)
    table = Table(title=f"Praktor {result.install_id} — {result.mission_control_url}")
    for column in ("service", "state", "pid", "health", "restarts", "detail"):
        table.add_column(column)
    for svc in result.services:
        color = "green" if svc.ready else "yellow"
        table.add_row(
            svc.name,
            f"[{color}]{svc.state}[/]",
            str(svc.pid or "-"),
            svc.health_url,
            str(svc.restarts),
            svc.detail,
        )
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


@app.command()
def doctor() -> None:
    """Explain what is configured and what is missing, with the fix for each."""
    from praktor_common.cli.doctor import diagnose

    findings = diagnose(RuntimeSettings())
    marks = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "error": "[red]✗[/]"}
    for finding in findings:
        console.print(f"{marks[finding.level]} [bold]{finding.topic}[/]: {finding.message}")
        if finding.fix and finding.level != "ok":
            console.print(f"    fix: {finding.fix}")
    if any(f.level == "error" for f in findings):
        raise typer.Exit(code=1)


@app.command()
def migrate() -> None:
    """Apply database migrations (PRAKTOR_DATABASE_URL)."""
    from praktor_common.db.migrate import upgrade

    settings = RuntimeSettings()
    if not settings.database_url:
        raise _fail(
            "PRAKTOR_DATABASE_URL is not set; `praktor up` migrates its embedded database itself"
        )
    asyncio.run(upgrade(settings.database_url))
    console.print("[green]✓[/] database schema up to date")


@bus_app.command("init")
def bus_init() -> None:
    """Create or update every JetStream stream and consumer (run once per install/upgrade)."""
    from praktor_common.cli.admin import init_bus

    try:
        asyncio.run(init_bus(RuntimeSettings(), console))
    except RuntimeError as exc:
        raise _fail(str(exc)) from None


@config_app.command("check")
def config_check() -> None:
    """Validate the config file and say what is wrong."""
    from praktor_common.config.errors import ConfigError
    from praktor_common.config.loader import load_config

    path = RuntimeSettings().config_path()
    try:
        load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    console.print(f"[green]✓[/] {path} is valid")


@config_app.command("publish")
def config_publish(
    watch: Annotated[
        bool, typer.Option("--watch", help="keep running; republish on change or SIGHUP")
    ] = False,
) -> None:
    """Validate the config file and publish it to every service (compose / Helm use --watch)."""
    from praktor_common.cli.admin import publish_config

    settings = RuntimeSettings()
    try:
        asyncio.run(publish_config(settings, watch=watch, console=console))
    except RuntimeError as exc:
        raise _fail(str(exc)) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
