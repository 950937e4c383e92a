"""Who may publish and subscribe to what: one table, one row per identity.

The rules behind every row:

* **Own inbox only.** Each identity connects with the inbox prefix
  ``_INBOX_<identity>`` and may subscribe to ``_INBOX_<identity>.>`` and to
  no other inbox, so nobody reads another identity's replies (JetStream
  publish acks, request replies, pull deliveries all arrive there).
  Agents use ``_INBOX_agent_<id>``.
* **Replies through ``allow_responses``.** Whoever answers a request
  (``svc.<service>.*``, ``agent.<id>.control``/``route``, ``host.ipc.<id>``)
  may publish once to the reply subject of a request it received, for two
  minutes; it gets no standing right to publish into another identity's inbox.
* **One-way subjects as specific as the role.** The gateway publishes
  ``inbound.telegram.*`` only, the web ``inbound.web.*`` only; agent input is
  published by router, scheduler, swarm and orchestrator; raw agent output is
  read by the orchestrator alone (through its consumers), which republishes it
  clean on ``deliver.*``.
* **JetStream API only for one's own streams and consumers.** A service may
  read info of the streams it uses, create *its own* durable consumers with the
  declared filter (``$JS.API.CONSUMER.CREATE.<STREAM>.<name>.<filter>``), pull
  from them (``$JS.API.CONSUMER.MSG.NEXT.<STREAM>.<name>``) and acknowledge
  their messages (``$JS.ACK.<STREAM>.<name>.>``). It cannot create streams,
  delete anything, read messages by sequence or touch another's consumer.
  Only ``cli-admin`` (the ``praktor`` CLI and supervisor) administers streams,
  publishes the config KV and replays dead letters; only the orchestrator
  creates and deletes agents' input consumers.
* **Config is read-only** for services: ``KV_praktor-config`` stream info,
  direct/message get, and the ordered consumer a KV watch creates (create,
  delete, flow control replies).
* **Dead letters.** A service may publish to ``dlq.<STREAM>.<its consumer>``
  and, when it consumes messages that came from a person (INBOUND,
  AGENT_OUTPUT), to ``deliver.*.*`` to tell that person. A gateway gets no
  ``deliver`` right for this: a failed delivery is not announced by delivery.
* **Vault.** ``svc.vault.resolve`` (secret values) is the orchestrator's
  alone; web and cli-admin reach the rest of ``svc.vault.>`` (CRUD, never
  values) and are explicitly denied ``resolve``. Secrets never travel on a
  captured subject, so no stream grant can expose them.
* **Agents** (template, :func:`agent_permissions`) may: pull from their own
  consumer ``agent-<id>`` on AGENT_INPUT and acknowledge it; publish
  ``agent.<id>.output``, ``agent.<id>.ready`` and their own dead letters;
  request ``host.ipc.<id>``; answer ``agent.<id>.control`` and
  ``agent.<id>.route``; read the swarm chat subjects they are given. Nothing
  else: not another agent's subjects, not ``svc.*``, not events, not config.
* **sys-admin** lives in the system account and may only push and look up
  account JWTs (revocations) and ping servers.

The JetStream grants are derived from :mod:`praktor_common.streams`, so a
consumer declared there is exactly what its service may use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from praktor_common import filestore, streams, subjects
from praktor_common.ids import validate_agent_id


@dataclass(frozen=True)
class Permissions:
    """Allow and deny lists of one identity (NATS subject patterns)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    subscribe_deny: tuple[str, ...] = ()
    allow_responses: bool = True


SYSTEM_IDENTITY: Final = "sys-admin"
ADMIN_IDENTITY: Final = "cli-admin"
SERVICES: Final = (
    "gateway-telegram",
    "router",
    "orchestrator",
    "scheduler",
    "swarm",
    "vault",
    "model-proxy",
    "web",
    ADMIN_IDENTITY,
)

CONFIG_STREAM: Final = f"KV_{subjects.CONFIG_KV_BUCKET}"


def inbox_prefix(identity: str) -> str:
    """The inbox prefix an identity must connect with (and may alone subscribe to)."""
    return f"_INBOX_{identity}"


def agent_identity(agent_id: str) -> str:
    return f"agent_{validate_agent_id(agent_id)}"


def _inbox(identity: str) -> str:
    return f"{inbox_prefix(identity)}.>"


def _js_consume(spec: streams.ConsumerSpec) -> list[str]:
    """Pull from, acknowledge and inspect one existing consumer."""
    s, c = spec.stream, spec.name
    return [
        f"$JS.API.CONSUMER.MSG.NEXT.{s}.{c}",
        f"$JS.ACK.{s}.{c}.>",
        f"$JS.API.CONSUMER.INFO.{s}.{c}",
    ]


def _js_own_consumers(service: str) -> list[str]:
    """Everything a service needs for the durable consumers declared for it."""
    grants: list[str] = []
    for durable in streams.durable_consumers(service):
        grants += [f"$JS.API.STREAM.INFO.{durable.stream}", durable.dead_letter_subject]
        for part in durable.partitions:
            grants += _js_consume(part)
            grants.append(
                f"$JS.API.CONSUMER.CREATE.{part.stream}.{part.name}.{part.filter_subject}"
            )
    return grants


_JS_COMMON: Final = (
    "$JS.API.INFO",
    f"$JS.API.STREAM.INFO.{CONFIG_STREAM}",
    f"$JS.API.DIRECT.GET.{CONFIG_STREAM}.>",
    f"$JS.API.STREAM.MSG.GET.{CONFIG_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{CONFIG_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{CONFIG_STREAM}.>",
    f"$JS.API.CONSUMER.DELETE.{CONFIG_STREAM}.*",
    f"$JS.API.CONSUMER.INFO.{CONFIG_STREAM}.*",
    f"$JS.FC.{CONFIG_STREAM}.>",
)

_DEAD_LETTER_NOTICE: Final = "deliver.*.*"


def _service(
    name: str,
    *,
    publish: Iterable[str] = (),
    subscribe: Iterable[str] = (),
    publish_deny: Iterable[str] = (),
) -> Permissions:
    own = _js_own_consumers(name)
    notifies = any(
        streams.STREAMS_BY_NAME[d.stream].notify_dead_letters
        for d in streams.durable_consumers(name)
    )
    notices = [_DEAD_LETTER_NOTICE] if notifies else []
    return Permissions(
        publish=_unique([*_JS_COMMON, *own, *notices, *publish]),
        subscribe=_unique([_inbox(name), *subscribe]),
        publish_deny=tuple(publish_deny),
    )


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


_AGENT_INPUT_CONSUMERS: Final = (
    f"$JS.API.STREAM.INFO.{streams.AGENT_INPUT}",
    f"$JS.API.CONSUMER.CREATE.{streams.AGENT_INPUT}.*.{subjects.AGENT_INPUT_ALL}",
    f"$JS.API.CONSUMER.INFO.{streams.AGENT_INPUT}.*",
    f"$JS.API.CONSUMER.DELETE.{streams.AGENT_INPUT}.*",
    f"$JS.API.CONSUMER.NAMES.{streams.AGENT_INPUT}",
    f"$JS.API.CONSUMER.LIST.{streams.AGENT_INPUT}",
    f"$JS.API.STREAM.PURGE.{streams.AGENT_INPUT}",
)

_FILES_STREAM: Final = f"OBJ_{filestore.FILES_BUCKET}"
_FILES_WRITE: Final = (
    f"$JS.API.STREAM.INFO.{_FILES_STREAM}",
    f"$JS.API.STREAM.CREATE.{_FILES_STREAM}",
    f"$JS.API.DIRECT.GET.{_FILES_STREAM}.>",
    f"$JS.API.STREAM.MSG.GET.{_FILES_STREAM}",
    f"$JS.API.STREAM.PURGE.{_FILES_STREAM}",
    f"$O.{filestore.FILES_BUCKET}.>",
)
"""Create the files bucket and put objects into it (the gateway stores what people send,
the orchestrator what agents send)."""


def _kv_lease(bucket: str) -> tuple[str, ...]:
    """Create one lease KV bucket, read, write and delete its keys."""
    stream = f"KV_{bucket}"
    return (
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$KV.{bucket}.>",
    )


SERVICE_PERMISSIONS: Final[Mapping[str, Permissions]] = {
    "gateway-telegram": _service(
        "gateway-telegram",
        publish=[
            "inbound.telegram.*",
            "svc.orchestrator.>",
            "svc.router.>",
            *_FILES_WRITE,
            *_kv_lease(filestore.TELEGRAM_LEASE_BUCKET),
        ],
        subscribe=["events.swarm.*", "svc.gateway-telegram.>"],
    ),
    "router": _service(
        "router",
        publish=[
            subjects.AGENT_INPUT_ALL,
            "agent.*.route",
            "deliver.*.*",
            "svc.orchestrator.>",
            "svc.swarm.>",
        ],
        subscribe=["svc.router.>"],
    ),
    "orchestrator": _service(
        "orchestrator",
        publish=[
            *_AGENT_INPUT_CONSUMERS,
            subjects.AGENT_INPUT_ALL,
            "agent.*.control",
            "deliver.*.*",
            "events.agent.*",
            "svc.scheduler.>",
            "svc.vault.>",
            "svc.swarm.>",
            *_FILES_WRITE,  # reads what people send; stores what agents send (send_file)
        ],
        subscribe=[
            "svc.orchestrator.>",
            subjects.HOST_IPC_ALL,
            "agent.*.ready",
        ],
    ),
    "scheduler": _service(
        "scheduler",
        publish=[subjects.AGENT_INPUT_ALL, "deliver.*.*", "events.task.>", "svc.orchestrator.>"],
        subscribe=["svc.scheduler.>"],
    ),
    "swarm": _service(
        "swarm",
        publish=[
            subjects.AGENT_INPUT_ALL,
            subjects.SWARM_CHAT_ALL,
            "deliver.*.*",
            "events.swarm.*",
            "svc.orchestrator.>",
        ],
        subscribe=["svc.swarm.>"],
    ),
    "vault": _service(
        "vault",
        publish=["events.secret.*"],
        subscribe=["svc.vault.>"],
    ),
    "model-proxy": _service(
        "model-proxy",
        publish=["svc.orchestrator.>"],
        subscribe=["events.agent.*", "svc.model-proxy.>"],
    ),
    "web": _service(
        "web",
        publish=["inbound.web.*", "svc.*.>", "events.secret.*"],
        publish_deny=["svc.vault.resolve"],
        subscribe=[subjects.EVENTS_ALL],
    ),
    ADMIN_IDENTITY: Permissions(
        publish=(
            "$JS.API.>",
            "$JS.ACK.>",
            "$JS.FC.>",
            f"$KV.{subjects.CONFIG_KV_BUCKET}.>",
            "svc.*.>",
            "inbound.*.*",
            subjects.AGENT_INPUT_ALL,
            subjects.AGENT_OUTPUT_ALL,
            "deliver.*.*",
            subjects.EVENTS_ALL,
            subjects.DLQ_ALL,
        ),
        subscribe=(_inbox(ADMIN_IDENTITY), subjects.EVENTS_ALL),
        publish_deny=("svc.vault.resolve",),
    ),
}

SYSTEM_PERMISSIONS: Final = Permissions(
    publish=(
        "$SYS.REQ.CLAIMS.UPDATE",
        "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE",
        "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP",
        "$SYS.REQ.SERVER.PING",
        "$SYS.REQ.SERVER.PING.*",
    ),
    subscribe=(_inbox(SYSTEM_IDENTITY),),
    allow_responses=False,
)


def service_permissions(service: str) -> Permissions:
    try:
        return SERVICE_PERMISSIONS[service]
    except KeyError:
        known = ", ".join(SERVICE_PERMISSIONS)
        raise KeyError(f"unknown service identity {service!r} (known: {known})") from None


def agent_permissions(agent_id: str, swarm_chats: Iterable[str] = ()) -> Permissions:
    """The per-agent template: the agent's own subjects and consumer, nothing else."""
    consumer = streams.agent_consumer(agent_id)
    chats = tuple(swarm_chats)
    for chat in chats:
        if not streams.subject_matches(subjects.SWARM_CHAT_ALL, chat):
            raise ValueError(f"{chat!r} is not a swarm chat subject (swarm.<id>.chat.<group>)")
    return Permissions(
        publish=(
            subjects.agent_output(agent_id),
            subjects.agent_ready(agent_id),
            subjects.host_ipc(agent_id),
            *_js_consume(consumer),
            consumer.dead_letter_subject,
        ),
        subscribe=(
            _inbox(agent_identity(agent_id)),
            subjects.agent_control(agent_id),
            subjects.agent_route(agent_id),
            *chats,
        ),
    )
