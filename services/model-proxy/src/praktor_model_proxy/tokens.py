"""Which running agent a proxy token belongs to.

The orchestrator mints each agent's token at start and forgets it at stop;
the proxy asks it (``svc.orchestrator.proxy_token``) with the token's SHA-256
— the token itself never travels on the bus. A positive answer is kept for a
short while (``ttl``) so a turn's requests do not each ask, and dropped at
once when ``events.agent.<id>`` says the agent stopped; a refusal is never
kept, so an agent that just started is known at its first request.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import nats.errors
import structlog
from nats.aio.client import Client

from praktor_common.contracts.orchestrator import AGENT_PROXY_TOKEN, ProxyTokenRequest
from praktor_common.contracts.service import ServiceError

log = structlog.get_logger(__name__)

DEFAULT_TTL: Final = 10.0
ASK_TIMEOUT: Final = 5.0


class TokenCheckUnavailableError(RuntimeError):
    """The orchestrator could not be asked."""


class Orchestrator(Protocol):
    async def agent_for(self, token_sha256: str) -> str | None:
        """Raises :class:`TokenCheckUnavailableError`."""
        ...


class NatsOrchestrator:
    def __init__(self, nc: Client, timeout: float = ASK_TIMEOUT) -> None:
        self._nc = nc
        self._timeout = timeout

    async def agent_for(self, token_sha256: str) -> str | None:
        body = ProxyTokenRequest(token_sha256=token_sha256).model_dump_json().encode()
        try:
            reply = await self._nc.request(AGENT_PROXY_TOKEN.subject, body, timeout=self._timeout)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            raise TokenCheckUnavailableError("the orchestrator did not answer") from exc
        answer = AGENT_PROXY_TOKEN.parse_reply(reply.data)
        if isinstance(answer, ServiceError):
            raise TokenCheckUnavailableError(f"the orchestrator refused: {answer.error}")
        return answer.agent_id


@dataclass
class _Known:
    agent_id: str
    until: float


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenChecker:
    """Token → running agent, with a short positive cache dropped on ``agent_stopped``."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._orchestrator = orchestrator
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, _Known] = {}

    async def agent_for(self, token: str) -> str | None:
        digest = token_sha256(token)
        known = self._known.get(digest)
        if known is not None and known.until > self._clock():
            return known.agent_id
        self._known.pop(digest, None)
        agent_id = await self._orchestrator.agent_for(digest)
        if agent_id is not None:
            self._known[digest] = _Known(agent_id, self._clock() + self._ttl)
        return agent_id

    def agent_stopped(self, agent_id: str) -> None:
        """Forget every token of ``agent_id`` (its ``agent_stopped`` event)."""
        for digest in [d for d, k in self._known.items() if k.agent_id == agent_id]:
            del self._known[digest]
        log.info("agent stopped; its proxy token is refused from now on", agent_id=agent_id)
