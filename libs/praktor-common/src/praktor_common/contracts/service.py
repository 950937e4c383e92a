"""Request/reply commands to a service on ``svc.<service>.<operation>``.

Each service module declares its commands as :class:`Command` constants; a
caller does ``await broker.request(req, vault.SECRET_GET.subject)`` and reads
the answer with :meth:`Command.parse_reply`. Every command may answer with
:class:`ServiceError` instead of its reply. These subjects are never captured
by a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, Literal, TypeVar

from pydantic import TypeAdapter

from praktor_common.contracts.base import Contract, Text
from praktor_common.subjects import service_command

ErrorCode = Literal["invalid", "not_found", "forbidden", "conflict", "unavailable", "internal"]


class ServiceError(Contract):
    """A command that failed: a message for a person and a code for a program."""

    error: Text
    code: ErrorCode = "internal"


class Done(Contract):
    """A command that has nothing to say but that it happened."""

    ok: Literal[True] = True


class Deleted(Contract):
    """Answer to a delete: whether something was there."""

    deleted: bool


ReqT = TypeVar("ReqT", bound=Contract)
RepT = TypeVar("RepT", bound=Contract)


@dataclass(frozen=True)
class Command(Generic[ReqT, RepT]):
    """One request/reply operation of a service."""

    service: str
    operation: str
    request: type[ReqT]
    reply: type[RepT]
    description: str
    callers: tuple[str, ...]
    """Services (or ``cli``) that send this command."""

    @property
    def subject(self) -> str:
        return service_command(self.service, self.operation)

    def parse_reply(self, data: bytes | str) -> RepT | ServiceError:
        """Validate a reply body (JSON) as this command's reply or a :class:`ServiceError`."""
        result: RepT | ServiceError = _reply_adapter(self.reply).validate_json(data)
        return result


@cache
def _reply_adapter(reply: type[Contract]) -> TypeAdapter[Any]:
    union: Any = reply | ServiceError
    return TypeAdapter(union)
