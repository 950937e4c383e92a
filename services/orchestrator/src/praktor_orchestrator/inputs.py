"""Seeing agent input as it is published (without consuming it): start, remember, store.

The orchestrator reads ``agent.*.input`` through its own durable consumer
``orchestrator-inputs`` (one replica per input; input published while no
orchestrator ran is seen when one starts). The runner pulls the same message
from its own consumer;
here it only tells the lifecycle that input waits (so the agent starts now),
and stores the person's message in the history once (by ``msg_id``) with a
``message`` event. Retry notices and swarm prompts are not conversation
history and are not stored.
"""

from __future__ import annotations

from typing import Protocol

import structlog
from pydantic import ValidationError

from praktor_common.bus.dead_letter import error_summary
from praktor_common.contracts.agent import AgentInput
from praktor_common.subjects import agent_id_from_subject

from .events import message_event
from .output import Publisher
from .redaction import ConfigSource
from .store import OrchestratorStore

log = structlog.get_logger(__name__)

STORED_KINDS = frozenset({"conversational", "task"})


class InputListener(Protocol):
    async def input_arrived(self, message: AgentInput) -> None: ...


class InputObserver:
    """Handles one ``agent.<id>.input`` message seen on core NATS."""

    def __init__(
        self,
        *,
        store: OrchestratorStore,
        lifecycle: InputListener,
        publisher: Publisher,
        config: ConfigSource,
    ) -> None:
        self._store = store
        self._lifecycle = lifecycle
        self._publisher = publisher
        self._config = config

    async def handle(self, data: bytes, subject: str) -> None:
        try:
            agent_id = agent_id_from_subject(subject)
            message = AgentInput.model_validate_json(data)
        except (ValueError, ValidationError) as exc:
            log.warning("unreadable agent input ignored", subject=subject, error=error_summary(exc))
            return
        if message.agent_id != agent_id:
            log.warning(
                "agent input names another agent than its subject; ignored", subject=subject
            )
            return
        await self._lifecycle.input_arrived(message)
        if message.kind not in STORED_KINDS:
            return
        try:
            stored = await self._store.store_input(message)
        except Exception:
            log.exception("agent input not stored", agent_id=agent_id, msg_id=message.msg_id)
            return
        if stored is None or not stored.created:
            return
        event = message_event(
            agent_id,
            row_id=stored.id,
            msg_id=message.msg_id,
            role="user",
            text=message.text,
            created_at=stored.created_at,
            zone=self._config.current.zone,
        )
        await self._publisher.publish_event(agent_id, event)
