"""The vault on the bus: one core-NATS request/reply subscriber per ``svc.vault.*`` command.

Never JetStream: a request (and a secret in it) is never stored in a stream.
Every request gets an answer — the command's reply or a
:class:`~praktor_common.contracts.service.ServiceError` — so a caller never
waits for a timeout because of a bad request.

Who may call what: first the bus (subject permissions,
:mod:`praktor_common.identities.permissions`): ``svc.vault.resolve`` cannot
even be published by web or cli-admin. Then the reply subject: every identity
may only receive on its own inbox (``_INBOX_<identity>.``), so a command is
answered only when its reply goes to the inbox of one of the callers its
contract names — a reply carrying values can only reach an identity allowed to
have them. A message without a reply subject is not a request and is ignored.

Subscribers share the queue group ``vault``, so replicas split the requests.
Logs name commands, codes and secret names; never a value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import structlog
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError

from praktor_common.bus import publish_model
from praktor_common.contracts import vault as contracts
from praktor_common.contracts.base import Contract
from praktor_common.contracts.events import (
    SecretCreatedEvent,
    SecretDeletedEvent,
    SecretEventData,
    SecretUpdatedEvent,
)
from praktor_common.contracts.service import Command, ErrorCode, ServiceError
from praktor_common.identities.permissions import ADMIN_IDENTITY, inbox_prefix
from praktor_common.subjects import SecretEvent, events_secret
from praktor_vault.vault import Vault, VaultError

log = structlog.get_logger(__name__)

QUEUE_GROUP: Final = "vault"

ReqT = TypeVar("ReqT", bound=Contract)
RepT = TypeVar("RepT", bound=Contract)


def error_reply(code: ErrorCode, message: str) -> bytes:
    return ServiceError(error=message, code=code).model_dump_json().encode()


def _invalid(command: Command[Any, Any], exc: ValidationError) -> bytes:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)[:5]
    ]
    return error_reply("invalid", f"bad {command.operation} request: {'; '.join(problems)}")


async def answer(
    command: Command[ReqT, RepT], body: bytes, work: Callable[[ReqT], Awaitable[RepT]]
) -> bytes:
    """Validate ``body`` as the command's request, run ``work``, encode its reply (or error)."""
    try:
        request = command.request.model_validate_json(body)
    except ValidationError as exc:
        log.info("vault request refused", operation=command.operation, code="invalid")
        return _invalid(command, exc)
    try:
        reply = await work(request)
    except VaultError as exc:
        log.info("vault request refused", operation=command.operation, code=exc.code)
        return error_reply(exc.code, exc.message)
    except Exception as exc:
        # The text of a database error may quote parameters: only the type is kept.
        log.error(
            "vault request failed", operation=command.operation, error_type=type(exc).__name__
        )
        return error_reply(
            "internal", f"the vault failed to {command.operation} ({type(exc).__name__})"
        )
    return reply.model_dump_json().encode()


def caller_identity(caller: str) -> str:
    """The bus identity of a contract's caller (``cli`` is ``cli-admin``)."""
    return ADMIN_IDENTITY if caller == "cli" else caller


def allowed_reply_prefixes(command: Command[Any, Any]) -> tuple[str, ...]:
    return tuple(f"{inbox_prefix(caller_identity(c))}." for c in command.callers)


def _subscribe(
    broker: NatsBroker,
    command: Command[ReqT, RepT],
    work: Callable[[ReqT], Awaitable[RepT]],
) -> None:
    allowed = allowed_reply_prefixes(command)

    async def handle(message: NatsMessage) -> bytes | None:
        reply_to = message.reply_to
        if not reply_to:
            log.warning("vault message without reply subject ignored", operation=command.operation)
            return None
        if not reply_to.startswith(allowed):
            log.warning(
                "vault request from an identity the contract does not allow",
                operation=command.operation,
                reply_inbox=reply_to.split(".", 1)[0],
            )
            callers = ", ".join(caller_identity(c) for c in command.callers)
            return error_reply("forbidden", f"{command.subject} is only for {callers}")
        return await answer(command, message.body, work)

    handle.__name__ = f"vault_{command.operation}"
    broker.subscriber(command.subject, queue=QUEUE_GROUP, title=command.subject)(handle)


def register(broker: NatsBroker, vault: Vault) -> None:
    """Subscribe ``vault``'s commands on ``broker`` (before the broker starts)."""

    async def set_secret(request: contracts.SecretSetRequest) -> contracts.SecretReply:
        return contracts.SecretReply(secret=await vault.set_secret(request))

    async def get_secret(request: contracts.SecretNameRequest) -> contracts.SecretReply:
        return contracts.SecretReply(secret=await vault.get_secret(request))

    async def list_secrets(request: contracts.SecretListRequest) -> contracts.SecretList:
        return contracts.SecretList(secrets=await vault.list_secrets(request))

    _subscribe(broker, contracts.SECRET_SET, set_secret)
    _subscribe(broker, contracts.SECRET_GET, get_secret)
    _subscribe(broker, contracts.SECRET_LIST, list_secrets)
    _subscribe(broker, contracts.SECRET_DELETE, vault.delete_secret)
    _subscribe(broker, contracts.SECRET_ASSIGN, vault.assign)
    _subscribe(broker, contracts.SECRET_UNASSIGN, vault.unassign)
    _subscribe(broker, contracts.SECRET_RESOLVE, vault.resolve)
    _subscribe(broker, contracts.SECRET_ROTATE, vault.rotate)


_EVENTS: Final = {
    "created": SecretCreatedEvent,
    "updated": SecretUpdatedEvent,
    "deleted": SecretDeletedEvent,
}


def event_publisher(broker: NatsBroker) -> Callable[[SecretEvent, str], Awaitable[None]]:
    """Publishes ``events.secret.{kind}`` with the secret's id and name (spec §4.6)."""

    async def publish(kind: SecretEvent, name: str) -> None:
        event = _EVENTS[kind](data=SecretEventData(id=name, name=name))
        await publish_model(broker, events_secret(kind), event)

    return publish
