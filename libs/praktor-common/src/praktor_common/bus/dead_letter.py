"""The dead-letter path: no message crashes, blocks or leaks out of a consumer.

:class:`DeadLetterMiddleware` (installed by :func:`praktor_common.bus.make_broker`)
wraps every handler. For a message from a JetStream consumer:

* **Payload that fails validation** (malformed JSON, wrong contract): logged
  with subject, stream, sequence and an error summary (field locations and
  error types, never values or the body), recorded on ``dlq.<stream>.<consumer>``
  as a :class:`~praktor_common.contracts.DeadLetter`, and terminated (an
  acknowledgement: it is never delivered again and the consumer moves on).
* **Handler that fails**: nak'ed with exponential backoff; at the consumer's
  last allowed delivery (``max_deliver``) it is dead-lettered as above.
  A handler raises :class:`DeadLetterError` to give up at once.
* In both cases, when the payload names an ``origin``, the person it came from
  gets a short :class:`~praktor_common.contracts.Notice` (``dead_letter``) on
  ``deliver.<channel>.<chat>`` — except for messages that were themselves on
  their way out (DELIVER), where a notice would take the same failing road.

If the record cannot be written, the message is nak'ed instead of being
dropped. For core (request/reply) messages an invalid payload is logged the
same way and raised as :class:`InvalidPayloadError` (its text holds no values),
so FastStream's own error log never prints the body.

While a handler runs on a subscriber registered with ``in_progress_every``
(see :func:`praktor_common.bus.durable_subscriber`), the middleware tells the
server every so often that the message is still being worked on.
"""

from __future__ import annotations

import json
import random
import traceback
import uuid
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

import structlog
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException, NackMessage, RejectMessage
from nats.aio.msg import Msg
from pydantic import TypeAdapter, ValidationError

from praktor_common import streams, subjects
from praktor_common.bus.progress import in_progress_interval, keep_in_progress
from praktor_common.bus.publish import NATS_MSG_ID, PublishError, publish_model
from praktor_common.contracts import DeadLetter, Delivery, Notice, Origin
from praktor_common.contracts.base import MsgId
from praktor_common.contracts.deadletter import DeadLetterReason

if TYPE_CHECKING:
    from faststream._internal.basic_types import AsyncFuncAny
    from faststream._internal.context.repository import ContextRepo
    from faststream.message import StreamMessage
    from faststream.nats import NatsBroker
    from faststream.nats.message import NatsMessage

log = structlog.get_logger(__name__)

NOTICE_TEXT: Final = (
    "Sorry, your message could not be processed. It has been set aside so it can be "
    "looked at and retried."
)
_FRAMEWORK_MODULES: Final = ("faststream", "fast_depends", "pydantic", "json", "anyio")
_NOTICE_NAMESPACE: Final = uuid.UUID("6f1c2a52-5d0e-4d55-9a57-6a3f1b2f0c11")
_MSG_ID: Final[TypeAdapter[str]] = TypeAdapter(MsgId)


class DeadLetterError(Exception):
    """Raised by a handler that will never be able to process this message."""


class InvalidPayloadError(ValueError):
    """A core message whose payload failed validation; the text carries no values."""


@dataclass(frozen=True)
class RetryBackoff:
    """Delay before redelivery after the n-th failed delivery: base·2^(n-1), capped, jittered."""

    base: float = 2.0
    cap: float = 60.0

    def delay(self, delivered: int) -> float:
        raw = min(self.cap, self.base * 2.0 ** max(0, delivered - 1))
        return raw * random.uniform(0.75, 1.0)  # noqa: S311 (jitter, not crypto)


# --- classifying and summarising errors without the payload ------------------------------


def is_payload_error(exc: BaseException) -> bool:
    """True when ``exc`` came from decoding/validating the payload, not from the handler.

    FastStream decodes the body and FastDepends validates it against the
    handler's signature before the handler runs: such an error was raised with
    only framework frames on the stack below the middleware.
    """
    if not isinstance(exc, ValueError):
        return False
    modules = [
        str(frame.f_globals.get("__name__", ""))
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    ]
    below = modules[1:]  # the first frame is the middleware's own
    return bool(below) and all(m.split(".")[0] in _FRAMEWORK_MODULES for m in below)


def error_summary(exc: BaseException, limit: int = 400) -> str:
    """Error type and a description that never quotes input values."""
    name = type(exc).__name__
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc'])[:64] or '<root>'}: {e['type']}"
            for e in exc.errors(include_input=False, include_url=False)[:5]
        ]
        more = exc.error_count() - len(parts)
        tail = f"; +{more} more" if more > 0 else ""
        return f"{name}: {exc.error_count()} error(s): {'; '.join(parts)}{tail}"[:limit]
    if isinstance(exc, json.JSONDecodeError):
        return f"{name}: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"{name}: not {exc.encoding} at byte {exc.start}"
    text = str(exc)
    return f"{name}: {text}"[:limit] if text else name


# --- what the body says about itself (read leniently, for ids and origin only) -------------


def _peek(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _origin_of(doc: dict[str, Any]) -> Origin | None:
    with suppress(ValidationError, TypeError):
        return Origin.model_validate(doc.get("origin"))
    return None


def _msg_id_of(doc: dict[str, Any]) -> str | None:
    with suppress(ValidationError):
        return _MSG_ID.validate_python(doc.get("msg_id"))
    return None


# --- the middleware ------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    """Where a JetStream message came from and how often it was delivered."""

    stream: str
    consumer: str
    stream_seq: int
    delivered: int
    subject: str
    nats_msg_id: str | None

    @classmethod
    def of(cls, raw: object) -> Delivered | None:
        if not isinstance(raw, Msg) or not (raw.reply or "").startswith("$JS.ACK."):
            return None
        meta = raw.metadata
        return cls(
            stream=meta.stream,
            consumer=meta.consumer,
            stream_seq=meta.sequence.stream,
            delivered=meta.num_delivered,
            subject=raw.subject,
            nats_msg_id=(raw.headers or {}).get(NATS_MSG_ID),
        )

    @property
    def consumer_spec(self) -> streams.ConsumerSpec | None:
        return streams.find_consumer(self.stream, self.consumer)

    @property
    def max_deliver(self) -> int:
        spec = self.consumer_spec
        return spec.max_deliver if spec else streams.MAX_DELIVER

    @property
    def dead_letter_subject(self) -> str:
        spec = self.consumer_spec
        return (
            spec.dead_letter_subject if spec else subjects.dead_letter(self.stream, self.consumer)
        )

    def log_fields(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "stream": self.stream,
            "consumer": self.consumer,
            "stream_seq": self.stream_seq,
            "delivered": self.delivered,
            "nats_msg_id": self.nats_msg_id,
        }


class DeadLetterMiddleware:
    """Broker middleware factory (pass an instance in ``middlewares=``)."""

    def __init__(self, *, notices: bool = True, backoff: RetryBackoff | None = None) -> None:
        self.notices = notices
        self.backoff = backoff or RetryBackoff()

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> _DeadLetterScope:
        return _DeadLetterScope(msg, context=context, policy=self)


class _DeadLetterScope(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, policy: DeadLetterMiddleware) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(self, call_next: AsyncFuncAny, msg: StreamMessage[Any]) -> Any:
        delivered = Delivered.of(msg.raw_message)
        every = in_progress_interval(self.context.get_local("handler_"))
        async with AsyncExitStack() as stack:
            if delivered is not None and every is not None:
                await stack.enter_async_context(keep_in_progress(cast("NatsMessage", msg), every))
            return await self._consume(call_next, msg, delivered)

    async def _consume(
        self, call_next: AsyncFuncAny, msg: StreamMessage[Any], delivered: Delivered | None
    ) -> Any:
        try:
            return await call_next(msg)
        except HandlerException:
            raise
        except Exception as exc:
            if delivered is None:
                if is_payload_error(exc):
                    summary = error_summary(exc)
                    log.warning("invalid payload", subject=_subject_of(msg), error=summary)
                    raise InvalidPayloadError(summary) from None
                raise
            await self._handle_failure(msg, delivered, exc)

    async def _handle_failure(
        self, msg: StreamMessage[Any], delivered: Delivered, exc: Exception
    ) -> NoReturn:
        """Nak for a retry, or dead-letter: always ends by raising FastStream's verdict."""
        reason: DeadLetterReason | None
        if is_payload_error(exc):
            reason = "validation"
        elif isinstance(exc, DeadLetterError):
            reason = "handler"
        elif delivered.delivered >= delivered.max_deliver:
            reason = "max_deliver"
        else:
            reason = None
        summary = error_summary(exc)
        if reason is None:
            delay = self.policy.backoff.delay(delivered.delivered)
            log.warning(
                "handler failed, will retry",
                **delivered.log_fields(),
                error=summary,
                retry_in=round(delay, 3),
            )
            raise NackMessage(delay=delay) from None
        await self._dead_letter(msg, delivered, reason, summary)

    async def _dead_letter(
        self, msg: StreamMessage[Any], delivered: Delivered, reason: DeadLetterReason, summary: str
    ) -> NoReturn:
        broker: NatsBroker = self.context.get("broker")
        doc = _peek(msg.body)
        origin = _origin_of(doc)
        record = DeadLetter(
            stream=delivered.stream,
            consumer=delivered.consumer,
            subject=streams.original_subject(delivered.stream, delivered.subject),
            stream_seq=delivered.stream_seq,
            delivery_count=delivered.delivered,
            reason=reason,
            error=summary,
            msg_id=_msg_id_of(doc),
            nats_msg_id=delivered.nats_msg_id,
            origin=origin,
        )
        try:
            await publish_model(
                broker,
                delivered.dead_letter_subject,
                record,
                msg_id=f"dlq:{delivered.stream}:{delivered.stream_seq}",
            )
        except PublishError as error:
            delay = self.policy.backoff.delay(delivered.delivered)
            log.error(
                "dead letter could not be recorded; message kept for retry",
                **delivered.log_fields(),
                error=summary,
                publish_error=str(error),
            )
            raise NackMessage(delay=delay) from None
        log.error("message dead-lettered", **delivered.log_fields(), reason=reason, error=summary)
        if origin is not None and self.policy.notices and _notifies(delivered.stream):
            await _notify(broker, origin, record)
        raise RejectMessage() from None


def _notifies(stream: str) -> bool:
    spec = streams.STREAMS_BY_NAME.get(stream)
    return spec is not None and spec.notify_dead_letters


async def _notify(broker: NatsBroker, origin: Origin, record: DeadLetter) -> None:
    msg_id = record.msg_id or str(
        uuid.uuid5(_NOTICE_NAMESPACE, f"{record.stream}:{record.stream_seq}")
    )
    notice = Delivery(
        msg_id=msg_id,
        origin=origin,
        kind="error",
        notice=Notice(code="dead_letter", text=NOTICE_TEXT),
        reply_to=origin.message_id,
    )
    try:
        await publish_model(
            broker,
            subjects.deliver(origin.channel, origin.chat_id),
            notice,
            msg_id=notice.dedupe_id,
        )
    except PublishError as error:
        log.warning("dead-letter notice not delivered", channel=origin.channel, error=str(error))


def _subject_of(msg: StreamMessage[Any]) -> str:
    raw = msg.raw_message
    return raw.subject if isinstance(raw, Msg) else ""
