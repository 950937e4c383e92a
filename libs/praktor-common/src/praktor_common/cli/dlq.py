"""``praktor dlq list | show | replay``: inspect and replay dead letters.

Connects as ``cli-admin``: ``PRAKTOR_NATS_URL`` / ``PRAKTOR_NATS_CREDS`` when
set, otherwise the suite ``praktor up`` runs from the data directory (its
recorded NATS URL and ``<data dir>/nats/creds/cli-admin.creds``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import nats
import nats.errors
import typer
from rich.console import Console
from rich.table import Table

from praktor_common.bus.dlq import (
    DeadLetterEntry,
    DeadLetterNotFoundError,
    OriginalGoneError,
    get_dead_letter,
    get_original,
    list_dead_letters,
    replay_dead_letter,
)
from praktor_common.identities.permissions import ADMIN_IDENTITY, inbox_prefix
from praktor_common.settings import RuntimeSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

T = TypeVar("T")

dlq_app = typer.Typer(help="Inspect and replay dead letters.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


class NotReachableError(RuntimeError):
    """The CLI does not know where the bus is or has no admin credentials."""


def admin_connection(settings: RuntimeSettings) -> tuple[str, Path]:
    """The NATS URL and the ``cli-admin`` creds file to use."""
    url = settings.nats_url
    if not url:
        from praktor_common.supervisor.layout import DataLayout
        from praktor_common.supervisor.state import read_state

        state = read_state(DataLayout(settings.data_dir).state_file)
        url = state.nats_url if state is not None else None
    if not url:
        raise NotReachableError(
            "no NATS to talk to: start Praktor with `praktor up`, or set PRAKTOR_NATS_URL "
            "and PRAKTOR_NATS_CREDS"
        )
    creds = settings.nats_creds or settings.data_dir / "nats" / "creds" / f"{ADMIN_IDENTITY}.creds"
    if not creds.exists():
        raise NotReachableError(
            f"no admin credentials at {creds}: set PRAKTOR_NATS_CREDS to the cli-admin .creds file"
        )
    return url, creds


async def reach_admin(settings: RuntimeSettings, name: str = "praktor-cli") -> Client:
    """Connect as ``cli-admin`` to the configured bus, else to the suite ``praktor up`` runs.

    Raises :class:`NotReachableError` with what to do when it cannot.
    """
    url, creds = admin_connection(settings)
    try:
        return await nats.connect(
            url,
            user_credentials=str(creds),
            inbox_prefix=inbox_prefix(ADMIN_IDENTITY).encode(),
            name=name,
            max_reconnect_attempts=1,
            connect_timeout=5,
        )
    except (nats.errors.Error, OSError) as exc:
        raise NotReachableError(
            f"cannot reach NATS at {url}: {exc or type(exc).__name__}; "
            "is Praktor running (`praktor status`)?"
        ) from None


async def _with_js(
    settings: RuntimeSettings, work: Callable[[JetStreamContext], Awaitable[T]]
) -> T:
    client = await reach_admin(settings, "praktor-dlq")
    try:
        return await work(client.jetstream())
    finally:
        await client.close()


def _run(work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_with_js(RuntimeSettings(), work))
    except (NotReachableError, DeadLetterNotFoundError, OriginalGoneError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=1) from None
    except (nats.errors.Error, OSError) as exc:
        err.print(f"[red]error:[/] NATS: {exc}")
        raise typer.Exit(code=1) from None


def dead_letter_table(entries: list[DeadLetterEntry]) -> Table:
    table = Table(title="Dead letters")
    for column in ("seq", "time", "stream", "consumer", "subject", "reason", "deliveries"):
        table.add_column(column, justify="right" if column in ("seq", "deliveries") else "left")
    for entry in entries:
        record = entry.record
        when = entry.time or record.failed_at
        table.add_row(
            str(entry.seq),
            when.strftime("%Y-%m-%d %H:%M:%S") if when else "-",
            record.stream,
            record.consumer,
            record.subject,
            record.reason,
            str(record.delivery_count),
        )
    return table


@dlq_app.command("list")
def list_command(
    stream: Annotated[str | None, typer.Option(help="only letters from this stream")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many (newest)")] = 100,
) -> None:
    """List dead letters: seq, time, stream, consumer, subject, reason, delivery count."""
    entries = _run(lambda js: list_dead_letters(js, stream=stream, limit=limit))
    if not entries:
        console.print("no dead letters")
        return
    console.print(dead_letter_table(entries))


@dlq_app.command("show")
def show_command(
    seq: Annotated[int, typer.Argument(help="the dead letter's sequence (see `dlq list`)")],
    body: Annotated[bool, typer.Option("--body", help="also print the original body")] = False,
) -> None:
    """Show one dead letter's metadata (and, with --body, the original message)."""

    async def work(js: JetStreamContext) -> tuple[DeadLetterEntry, str | None, bytes | None]:
        entry = await get_dead_letter(js, seq)
        try:
            original = await get_original(js, entry.record)
        except OriginalGoneError as gone:
            return entry, str(gone), None
        return entry, None, original.data

    entry, gone, data = _run(work)
    record = entry.record
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in record.model_dump(mode="json", exclude_none=True).items():
        table.add_row(key, str(value))
    table.add_row("original", gone or f"{record.stream} #{record.stream_seq} (available)")
    console.print(table)
    if body:
        if data is None:
            err.print("[yellow]the original is gone; no body to show[/]")
        else:
            typer.echo(data.decode(errors="replace"))


@dlq_app.command("replay")
def replay_command(
    seq: Annotated[int, typer.Argument(help="the dead letter's sequence (see `dlq list`)")],
) -> None:
    """Republish the original to its subject (new Nats-Msg-Id), then delete the dead letter."""
    ack = _run(lambda js: replay_dead_letter(js, seq))
    console.print(f"[green]✓[/] replayed as {ack.stream} #{ack.seq}; dead letter {seq} removed")
