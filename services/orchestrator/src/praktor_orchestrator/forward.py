"""Asking another service (``svc.<service>.<op>``) on an agent's behalf."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeVar

import nats.errors
import structlog
from pydantic import ValidationError

from praktor_common.contracts.base import Contract
from praktor_common.contracts.service import Command, ServiceError

if TYPE_CHECKING:
    from nats.aio.client import Client

log = structlog.get_logger(__name__)

FORWARD_TIMEOUT: Final = 10.0

RepT = TypeVar("RepT", bound=Contract)


class NoAnswerError(RuntimeError):
    """The other service did not answer in time (or is not running)."""


class ServiceRequester:
    """Core request/reply to another Praktor service over the orchestrator's connection."""

    def __init__(self, nc: Client, timeout: float = FORWARD_TIMEOUT) -> None:
        self._nc = nc
        self.timeout = timeout

    async def request(self, command: Command[Any, RepT], payload: Contract) -> RepT | ServiceError:
        """The service's reply or its error; :class:`NoAnswerError` when it does not answer."""
        body = payload.model_dump_json(by_alias=True).encode()
        try:
            reply = await self._nc.request(command.subject, body, timeout=self.timeout)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise NoAnswerError(
                f"the {command.service} service did not answer; try again later"
            ) from exc
        try:
            return command.parse_reply(reply.data)
        except ValidationError as exc:
            log.warning("unreadable service reply", subject=command.subject)
            raise NoAnswerError(f"the {command.service} service gave an unreadable answer") from exc
