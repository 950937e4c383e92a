"""``svc.gateway-telegram.*``: the owner's decisions about Telegram senders.

``praktor telegram pending | approve ID | deny ID`` (and the web) send these
as ``cli-admin`` / ``web``. Every request gets an answer (the reply or a
``ServiceError``); replicas share the queue group, and since each decision is
one row in ``telegram_senders``, which every replica reads per message, it
applies to the sender's next message everywhere at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import structlog
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from praktor_common.contracts import telegram as contracts
from praktor_common.contracts.base import Contract
from praktor_common.contracts.service import Command, ServiceError
from praktor_gateway_telegram.senders import SenderStore

log = structlog.get_logger(__name__)

QUEUE_GROUP: Final = "gateway-telegram"

ReqT = TypeVar("ReqT", bound=Contract)
RepT = TypeVar("RepT", bound=Contract)


async def answer(
    command: Command[ReqT, RepT], body: bytes, work: Callable[[ReqT], Awaitable[RepT]]
) -> bytes:
    """Validate ``body``, run ``work``, encode its reply or the error."""
    try:
        request = command.request.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)[:5]
        )
        error = ServiceError(error=f"bad {command.operation} request: {problems}", code="invalid")
        return error.model_dump_json().encode()
    try:
        reply = await work(request)
    except Exception as exc:
        log.error("sender command failed", operation=command.operation, error=type(exc).__name__)
        error = ServiceError(
            error=f"the Telegram gateway failed to {command.operation} ({type(exc).__name__})",
            code="unavailable",
        )
        return error.model_dump_json().encode()
    return reply.model_dump_json().encode()


def _subscribe(
    broker: NatsBroker, command: Command[ReqT, RepT], work: Callable[[ReqT], Awaitable[RepT]]
) -> None:
    async def handle(message: NatsMessage) -> bytes:
        return await answer(command, message.body, work)

    handle.__name__ = f"telegram_{command.operation}"
    broker.subscriber(command.subject, queue=QUEUE_GROUP, title=command.subject)(handle)


def register(broker: NatsBroker, store: SenderStore) -> None:
    """Answer the sender commands from ``store`` (call before the broker starts)."""

    async def listing(request: contracts.SendersListRequest) -> contracts.SendersList:
        rows = await store.listing(request.status)
        return contracts.SendersList(
            senders=[
                contracts.SenderInfo(
                    user_id=row.user_id,
                    username=row.username,
                    display_name=row.display_name,
                    status=row.status,
                    first_seen_at=row.first_seen_at,
                    last_seen_at=row.last_seen_at,
                )
                for row in rows
            ]
        )

    async def decide(request: contracts.SenderDecision) -> contracts.SenderDecided:
        known = await store.decide(request.user_id, request.status)
        log.info("sender decided", user_id=request.user_id, status=request.status, known=known)
        return contracts.SenderDecided(user_id=request.user_id, status=request.status, known=known)

    commands: list[tuple[Command[Any, Any], Callable[[Any], Awaitable[Any]]]] = [
        (contracts.SENDERS_LIST, listing),
        (contracts.SENDER_DECIDE, decide),
    ]
    for command, work in commands:
        _subscribe(broker, command, work)
