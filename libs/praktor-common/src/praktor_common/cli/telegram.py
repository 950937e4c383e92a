"""``praktor telegram``: decide who may talk to the bot.

``pending`` lists the people who wrote to the bot and were refused (each was
told their user id); ``approve ID`` lets one in from their next message on,
``deny ID`` refuses them silently from now on. The gateway owns the list: the
CLI asks it over the bus as ``cli-admin`` (``PRAKTOR_NATS_URL`` /
``PRAKTOR_NATS_CREDS``, else the suite ``praktor up`` runs), so a decision
applies at once on every replica. ``telegram.allow_from`` in the config
allows people too; both lists count.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final, TypeVar

import nats.errors
import typer
from rich.console import Console
from rich.table import Table

from praktor_common.cli.dlq import NotReachableError, reach_admin
from praktor_common.contracts import telegram as contracts
from praktor_common.contracts.base import Contract
from praktor_common.contracts.service import Command, ServiceError
from praktor_common.settings import RuntimeSettings

telegram_app = typer.Typer(help="Decide who may talk to the Telegram bot.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

RepT = TypeVar("RepT", bound=Contract)
REQUEST_TIMEOUT: Final = 10.0


class TelegramCliError(Exception):
    """What to tell the user; exit code 1."""


async def request(settings: RuntimeSettings, command: Command[Any, RepT], body: Contract) -> RepT:
    """Send ``command`` to the gateway as ``cli-admin``; its reply, or :class:`TelegramCliError`."""
    client = await reach_admin(settings)
    try:
        message = await client.request(
            command.subject, body.model_dump_json().encode(), timeout=REQUEST_TIMEOUT
        )
    except nats.errors.NoRespondersError:
        raise TelegramCliError(
            "the gateway-telegram service is not running: start Praktor with `praktor up`, "
            "or check `praktor status`"
        ) from None
    except nats.errors.TimeoutError:
        raise TelegramCliError(
            f"gateway-telegram did not answer within {REQUEST_TIMEOUT:g} s; "
            "check `praktor status` and try again"
        ) from None
    finally:
        await client.close()
    reply = command.parse_reply(message.data)
    if isinstance(reply, ServiceError):
        raise TelegramCliError(reply.error)
    return reply


def _run(command: Command[Any, RepT], body: Contract) -> RepT:
    try:
        return asyncio.run(request(RuntimeSettings(), command, body))
    except (TelegramCliError, NotReachableError) as exc:
        err.print(f"[red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=1) from None


def _user_id(value: int) -> int:
    if value < 1:
        raise typer.BadParameter("a Telegram user id is a positive number, e.g. 123456789")
    return value


UserId = Annotated[
    int, typer.Argument(help="the Telegram user id (the bot told them)", callback=_user_id)
]


@telegram_app.command()
def pending(
    show_all: Annotated[
        bool, typer.Option("--all", help="also list approved and denied senders")
    ] = False,
) -> None:
    """List the people waiting for your approval."""
    status: contracts.SenderStatus | None = None if show_all else "pending"
    reply = _run(contracts.SENDERS_LIST, contracts.SendersListRequest(status=status))
    if not reply.senders:
        console.print(
            "Nobody is waiting." if status else "Nobody has written to the bot yet.",
            highlight=False,
        )
        return
    table = Table("user id", "name", "status", "last message (UTC)")
    for sender in reply.senders:
        name = f"@{sender.username}" if sender.username else (sender.display_name or "")
        table.add_row(
            str(sender.user_id),
            name,
            sender.status,
            sender.last_seen_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    if status:
        console.print("Approve one with `praktor telegram approve ID`.", highlight=False)


@telegram_app.command()
def approve(user_id: UserId) -> None:
    """Let a Telegram user talk to the bot (from their next message on)."""
    reply = _run(
        contracts.SENDER_DECIDE, contracts.SenderDecision(user_id=user_id, status="approved")
    )
    note = "" if reply.known else " (they have not written yet; they may now)"
    console.print(f"Approved {reply.user_id}{note}.", highlight=False)


@telegram_app.command()
def deny(user_id: UserId) -> None:
    """Refuse a Telegram user from now on (silently)."""
    reply = _run(
        contracts.SENDER_DECIDE, contracts.SenderDecision(user_id=user_id, status="denied")
    )
    console.print(f"Denied {reply.user_id}: the bot will ignore them.", highlight=False)
