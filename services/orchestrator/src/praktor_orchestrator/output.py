"""Raw agent output → redacted, stored once, republished for the chat (spec §6.4, §10.5).

The orchestrator is the only reader of ``agent.*.output`` (its durable,
partitioned consumer). For each message:

* the agent is the subject's (``agent.<id>.output``), never a field;
* :class:`~praktor_common.contracts.AgentText` snapshots are redacted (a tail
  that may start a secret is held back) and republished as ``text`` deliveries;
* an :class:`~praktor_common.contracts.AgentResult` is redacted, stored once
  (its message id is ``<msg_id>:result``, so a redelivery stores nothing new),
  its session id is persisted for the agent's conversation (not for task or
  swarm sessions), all in one transaction; then the clean answer goes out as a
  ``final`` delivery on ``deliver.<channel>.<chat>`` (deduplicated by the bus)
  and a ``message`` event is published when the row is new.

The message is acknowledged when this returns (after the commit and the
publish); a failure is retried and finally dead-lettered, and the person is told.
"""

from __future__ import annotations

from typing import Protocol

import structlog
from pydantic import BaseModel

from praktor_common.contracts.agent import AgentResult, AgentText
from praktor_common.contracts.deliver import Delivery
from praktor_common.subjects import agent_id_from_subject

from .deliveries import final_delivery, text_delivery
from .events import message_event
from .redaction import ConfigSource, RedactorSource
from .store import OrchestratorStore

log = structlog.get_logger(__name__)


class Activity(Protocol):
    def touch(self, agent_id: str) -> None: ...

    def answered(self, agent_id: str, msg_id: str) -> None: ...


class Publisher(Protocol):
    async def deliver(self, delivery: Delivery) -> None: ...

    async def publish_event(self, agent_id: str, event: BaseModel) -> None: ...


class OutputHandler:
    """Handles one message of the orchestrator's ``agent.*.output`` consumer."""

    def __init__(
        self,
        *,
        store: OrchestratorStore,
        redactors: RedactorSource,
        publisher: Publisher,
        activity: Activity,
        config: ConfigSource,
    ) -> None:
        self._store = store
        self._redactors = redactors
        self._publisher = publisher
        self._activity = activity
        self._config = config

    async def handle(self, output: AgentText | AgentResult, subject: str) -> None:
        agent_id = agent_id_from_subject(subject)
        self._activity.touch(agent_id)
        redactor = await self._redactors.redactor_for(agent_id)
        if isinstance(output, AgentText):
            snapshot = redactor.redact_snapshot(output.content)
            await self._publisher.deliver(text_delivery(agent_id, output, snapshot.text))
            return
        clean = redactor.redact(output.content).text
        conversational = output.task_id is None and output.swarm_id is None
        stored = await self._store.store_result(
            agent_id, output, clean, keep_session=conversational
        )
        await self._publisher.deliver(final_delivery(agent_id, output, clean))
        self._activity.answered(agent_id, output.msg_id)
        if stored is not None and stored.created:
            event = message_event(
                agent_id,
                row_id=stored.id,
                msg_id=output.msg_id,
                role="assistant",
                text=clean,
                created_at=stored.created_at,
                zone=self._config.current.zone,
                terminal_reason=output.terminal_reason if output.abnormal else None,
            )
            await self._publisher.publish_event(agent_id, event)
        log.info(
            "agent result handled",
            agent_id=agent_id,
            msg_id=output.msg_id,
            stored=stored is not None and stored.created,
        )
