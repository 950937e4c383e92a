"""``praktor chat``: talk to your agents from a terminal.

The message goes in like any other (``inbound.cli.<chat>``, routed by the
router: ``@agent`` prefix, smart routing, last used, default agent, and the
slash commands), and the answer is read back from ``deliver.cli.<chat>``,
streamed text as it grows. It runs as ``cli-admin`` against the suite
``praktor up`` runs (or ``PRAKTOR_NATS_URL`` / ``PRAKTOR_NATS_CREDS``).
"""

from __future__ import annotations

import asyncio
import getpass
from dataclasses import dataclass, field
from typing import Annotated, Final

import typer
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from pydantic import ValidationError
from rich.console import Console

from praktor_common import streams, subjects
from praktor_common.cli.dlq import NotReachableError, reach_admin
from praktor_common.contracts.deliver import Delivery
from praktor_common.contracts.inbound import InboundMessage
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id
from praktor_common.settings import RuntimeSettings

console = Console()
err = Console(stderr=True)

DEFAULT_TIMEOUT: Final = 600.0
WAITING_CODES: Final = frozenset({"waiting_for_capacity", "swarm_launched"})
"""Notices that say the answer is still to come."""


class ChatError(Exception):
    """What to tell the user; exit code 1."""


@dataclass
class Conversation:
    """What arrived for one message: the answer's text so far and how it ended."""

    msg_id: str
    text: str = ""
    seq: int = -1
    lines: list[str] = field(default_factory=list)
    """Finished pieces to print (final answer, notices, files)."""
    failed: bool = False
    done: bool = False

    def take(self, delivery: Delivery) -> None:
        if delivery.msg_id != self.msg_id:
            return
        match delivery.kind:
            case "text":
                if delivery.seq > self.seq:
                    self.seq, self.text = delivery.seq, delivery.content
            case "final":
                reason = delivery.terminal_reason
                ending = f"\n[{delivery.agent_id or 'agent'} stopped: {reason}]" if reason else ""
                self.lines.append(delivery.content + ending)
                self.done = True
            case "file" if delivery.file is not None:
                self.lines.append(f"[file from the agent: {delivery.file.name}]")
            case "notice" | "error" if delivery.notice is not None:
                self.lines.append(delivery.notice.text)
                if delivery.kind == "error":
                    self.failed = self.done = True
                elif delivery.notice.code not in WAITING_CODES:
                    self.done = True


async def send_and_wait(
    client: Client, text: str, *, chat: str, agent: str | None, timeout: float
) -> Conversation:
    js = client.jetstream()
    origin = Origin(channel="cli", chat_id=chat, user_id=chat)
    message = InboundMessage(dedupe_id=f"cli:{new_id()}", origin=origin, text=text, agent_id=agent)
    conversation = Conversation(message.msg_id)
    arrived = asyncio.Event()

    async def on_delivery(msg: Msg) -> None:
        try:
            conversation.take(Delivery.model_validate_json(msg.data))
        except ValidationError:
            return
        arrived.set()

    subscription = await js.subscribe(
        f"{subjects.deliver('cli', chat)}.*",
        stream=streams.DELIVER,
        cb=on_delivery,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
    )
    try:
        await js.publish(
            subjects.inbound("cli", chat),
            message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": message.dedupe_id},
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        shown = ""
        with console.status("waiting for the answer…") as status:
            while not conversation.done:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ChatError(
                        f"no answer within {timeout:g} s; it may still come: check "
                        "`praktor status` and the agent's log"
                    )
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), remaining)
                except TimeoutError:
                    continue
                for line in conversation.lines:
                    console.print(line, highlight=False, markup=False)
                conversation.lines.clear()
                if conversation.text != shown:
                    shown = conversation.text
                    status.update(f"{shown[-70:].replace(chr(10), ' ')}…")
    finally:
        await subscription.unsubscribe()
    return conversation


async def chat_once(
    settings: RuntimeSettings, text: str, *, chat: str, agent: str | None, timeout: float
) -> Conversation:
    client = await reach_admin(settings)
    try:
        return await send_and_wait(client, text, chat=chat, agent=agent, timeout=timeout)
    finally:
        await client.close()


def _default_chat() -> str:
    name = "".join(c for c in getpass.getuser() if c.isalnum() or c in "-_")
    return f"terminal-{name or 'user'}"


def chat(
    message: Annotated[str, typer.Argument(help="what to say (e.g. '@coder run the tests')")],
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="send to this agent, skip routing")
    ] = None,
    chat_id: Annotated[
        str | None,
        typer.Option("--chat", help="conversation id (default: terminal-<your user>)"),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for the answer", min=1)
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Send a message to your agents and print the answer."""
    try:
        conversation = asyncio.run(
            chat_once(
                RuntimeSettings(),
                message,
                chat=chat_id or _default_chat(),
                agent=agent,
                timeout=timeout,
            )
        )
    except (ChatError, NotReachableError, ValidationError) as exc:
        err.print(f"[red]error:[/] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(code=1) from None
    if conversation.failed:
        raise typer.Exit(code=1)
