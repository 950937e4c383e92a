"""Publishing a contract: ``Nats-Msg-Id``, trace headers, JetStream acks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import nats.errors
import nats.js.errors
from pydantic import BaseModel

from praktor_common.ids import new_id
from praktor_common.streams import stream_for_subject

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.js.api import PubAck

NATS_MSG_ID: Final = "Nats-Msg-Id"


class PublishError(RuntimeError):
    """A publish the bus did not confirm (no stream answered, stream full, timeout…)."""

    def __init__(self, subject: str, stream: str | None, cause: BaseException) -> None:
        where = f"stream {stream}" if stream else "core NATS"
        super().__init__(f"publish to {subject} ({where}) failed: {cause!r}")
        self.subject = subject
        self.stream = stream


async def publish_model(
    broker: NatsBroker,
    subject: str,
    model: BaseModel,
    msg_id: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    ack_timeout: float = 5.0,
) -> PubAck | None:
    """Publish ``model`` as JSON on ``subject`` with ``Nats-Msg-Id: msg_id``.

    A subject a stream captures is published through JetStream: this waits
    for the stream's acknowledgement and raises :class:`PublishError` when
    there is none (a duplicate inside the stream's window is acknowledged as
    such and is not an error). Other subjects are plain core publishes. The
    broker's telemetry middleware adds the trace context headers either way.
    """
    message_id = msg_id or new_id()
    send_headers = {NATS_MSG_ID: message_id, **(headers or {})}
    spec = stream_for_subject(subject)
    try:
        if spec is None:
            await broker.publish(model, subject, headers=send_headers, correlation_id=message_id)
            return None
        ack: PubAck = await broker.publish(
            model,
            subject,
            headers=send_headers,
            correlation_id=message_id,
            stream=spec.name,
            timeout=ack_timeout,
        )
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
        raise PublishError(subject, spec.name if spec else None, exc) from exc
    return ack
