"""The permission table, read as a spec (what the server enforces is tested in
test_nats_permissions.py)."""

from __future__ import annotations

import pytest

from praktor_common import streams, subjects
from praktor_common.identities.permissions import (
    ADMIN_IDENTITY,
    SERVICE_PERMISSIONS,
    SERVICES,
    SYSTEM_PERMISSIONS,
    agent_permissions,
    service_permissions,
)
from praktor_common.streams import subjects_overlap


def _grants(patterns: tuple[str, ...], subject: str) -> bool:
    return any(streams.subject_matches(p, subject) for p in patterns)


def test_every_service_has_a_row() -> None:
    assert set(SERVICE_PERMISSIONS) == set(SERVICES)
    assert {
        "gateway-telegram",
        "router",
        "orchestrator",
        "scheduler",
        "swarm",
        "vault",
        "model-proxy",
        "web",
        ADMIN_IDENTITY,
    } == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reads_only_its_own_inbox(service: str) -> None:
    subscribe = service_permissions(service).subscribe
    inboxes = [p for p in subscribe if p.startswith("_INBOX")]
    assert inboxes == [f"_INBOX_{service}.>"]
    assert not _grants(subscribe, "_INBOX.x")


@pytest.mark.parametrize("service", SERVICES)
def test_no_service_may_create_or_delete_streams_except_the_admin(service: str) -> None:
    publish = service_permissions(service).publish
    can_admin = _grants(publish, "$JS.API.STREAM.CREATE.INBOUND") or _grants(
        publish, "$JS.API.STREAM.DELETE.INBOUND"
    )
    assert can_admin == (service == ADMIN_IDENTITY)


def test_only_the_orchestrator_reads_raw_agent_output() -> None:
    readers = {
        s
        for s, p in SERVICE_PERMISSIONS.items()
        if _grants(p.publish, "$JS.API.CONSUMER.MSG.NEXT.AGENT_OUTPUT.orchestrator-p0")
        or _grants(p.subscribe, "agent.coder.output")
    }
    assert readers == {"orchestrator", ADMIN_IDENTITY}


def test_only_the_orchestrator_answers_agent_ipc_and_manages_agent_consumers() -> None:
    ipc = {s for s, p in SERVICE_PERMISSIONS.items() if _grants(p.subscribe, "host.ipc.coder")}
    assert ipc == {"orchestrator"}
    create = "$JS.API.CONSUMER.CREATE.AGENT_INPUT.agent-coder.agent.coder.input"
    managers = {s for s, p in SERVICE_PERMISSIONS.items() if _grants(p.publish, create)}
    assert managers == {"orchestrator", ADMIN_IDENTITY}


def test_secret_values_are_reachable_by_the_orchestrator_alone() -> None:
    for service, p in SERVICE_PERMISSIONS.items():
        allowed = _grants(p.publish, "svc.vault.resolve") and not _grants(
            p.publish_deny, "svc.vault.resolve"
        )
        assert allowed == (service == "orchestrator"), service
    assert _grants(service_permissions("web").publish, "svc.vault.list")


def test_gateways_speak_only_for_their_own_channel() -> None:
    gateway = service_permissions("gateway-telegram").publish
    assert _grants(gateway, "inbound.telegram.42")
    assert not _grants(gateway, "inbound.web.42")
    web = service_permissions("web").publish
    assert _grants(web, "inbound.web.42")
    assert not _grants(web, "inbound.telegram.42")


@pytest.mark.parametrize("durable", streams.DURABLE_CONSUMERS, ids=lambda d: d.name)
def test_a_consuming_service_may_use_exactly_its_declared_consumers(
    durable: streams.DurableConsumer,
) -> None:
    mine = service_permissions(durable.service).publish
    for part in durable.partitions:
        assert _grants(mine, f"$JS.API.CONSUMER.MSG.NEXT.{part.stream}.{part.name}")
        assert _grants(mine, f"$JS.ACK.{part.stream}.{part.name}.1.2.3.4.0")
        assert _grants(
            mine, f"$JS.API.CONSUMER.CREATE.{part.stream}.{part.name}.{part.filter_subject}"
        )
    assert _grants(mine, durable.dead_letter_subject)
    for other in SERVICES:
        if other in (durable.service, ADMIN_IDENTITY):
            continue
        theirs = service_permissions(other).publish
        assert not _grants(
            theirs, f"$JS.API.CONSUMER.MSG.NEXT.{durable.stream}.{durable.partitions[0].name}"
        ), other


def test_the_agent_template_is_its_own_subjects_and_nothing_else() -> None:
    p = agent_permissions("coder", ["swarm.s1.chat.g1"])
    assert set(p.publish) == {
        "agent.coder.output",
        "agent.coder.ready",
        "host.ipc.coder",
        "$JS.API.CONSUMER.MSG.NEXT.AGENT_INPUT.agent-coder",
        "$JS.ACK.AGENT_INPUT.agent-coder.>",
        "$JS.API.CONSUMER.INFO.AGENT_INPUT.agent-coder",
        "dlq.AGENT_INPUT.agent-coder",
    }
    assert set(p.subscribe) == {
        "_INBOX_agent_coder.>",
        "agent.coder.control",
        "agent.coder.route",
        "swarm.s1.chat.g1",
    }
    assert p.allow_responses
    other = agent_permissions("writer")
    for pattern in (*p.publish, *p.subscribe):
        for theirs in (*other.publish, *other.subscribe):
            assert not subjects_overlap(pattern, theirs), (pattern, theirs)


def test_an_agent_is_given_only_swarm_chat_subjects() -> None:
    with pytest.raises(ValueError, match="not a swarm chat subject"):
        agent_permissions("coder", ["agent.writer.output"])


def test_the_system_user_only_manages_account_claims() -> None:
    assert all(s.startswith("$SYS.REQ.") for s in SYSTEM_PERMISSIONS.publish)
    assert SYSTEM_PERMISSIONS.subscribe == ("_INBOX_sys-admin.>",)
    assert not SYSTEM_PERMISSIONS.allow_responses


def test_no_service_subscribes_to_raw_subjects_of_streams_it_does_not_own() -> None:
    # Reading a captured subject with a core subscription bypasses the consumers:
    # only readers of live events do (the orchestrator sees agent input through its
    # own durable consumer, so input published while it is down is not missed).
    captured = [s.subject for s in streams.STREAMS]
    for service, p in SERVICE_PERMISSIONS.items():
        reads = {c for c in captured for s in p.subscribe if subjects_overlap(c, s)}
        expected = {
            "web": {subjects.EVENTS_ALL},
            ADMIN_IDENTITY: {subjects.EVENTS_ALL},
            "gateway-telegram": {subjects.EVENTS_ALL},
            "model-proxy": {subjects.EVENTS_ALL},
        }.get(service, set())
        assert reads == expected, service


def test_only_those_who_handle_what_people_sent_may_publish_deliveries() -> None:
    may_deliver = {
        s for s, p in SERVICE_PERMISSIONS.items() if _grants(p.publish, "deliver.telegram.42")
    }
    assert may_deliver == {"router", "orchestrator", "scheduler", "swarm", ADMIN_IDENTITY}
