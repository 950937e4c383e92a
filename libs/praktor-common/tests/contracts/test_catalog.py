"""The catalog: one entry per subject pattern, and the rules streams must keep."""

from __future__ import annotations

import pytest

from praktor_common import streams, subjects
from praktor_common.contracts import catalog
from praktor_common.contracts.catalog import CATALOG, SubjectEntry
from praktor_common.contracts.service import ServiceError

REQUESTS = list(catalog.entries(mode="request"))
CAPTURED = list(catalog.entries(captured=True))


def test_keys_and_addresses_are_unique() -> None:
    assert len({e.key for e in CATALOG}) == len(CATALOG)
    assert len({e.address for e in CATALOG}) == len(CATALOG)


@pytest.mark.parametrize("entry", REQUESTS, ids=lambda e: e.address)
def test_no_request_reply_subject_is_captured(entry: SubjectEntry) -> None:
    assert not entry.captured
    assert entry.reply is not None
    assert entry.reply_messages()


@pytest.mark.parametrize("entry", CAPTURED, ids=lambda e: e.address)
def test_every_captured_subject_is_one_way_and_has_a_model(entry: SubjectEntry) -> None:
    assert entry.mode == "publish"
    assert entry.reply is None
    assert entry.messages()


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.address)
def test_every_entry_names_its_speakers_and_parameters(entry: SubjectEntry) -> None:
    assert entry.publishers
    assert entry.subscribers
    assert entry.description
    placeholders = [t[1:-1] for t in entry.address.split(".") if t.startswith("{")]
    assert placeholders == [p.name for p in entry.parameters]


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.address)
def test_captured_means_a_stream_stores_it(entry: SubjectEntry) -> None:
    example = entry.example()
    stored_by = [s.name for s in streams.STREAMS if s.captures(example)]
    if entry.captured:
        assert len(stored_by) == 1, f"{example} should be stored by exactly one stream"
    else:
        assert stored_by == [], f"{example} must not be captured, but {stored_by} store it"


def test_the_big_families_are_where_the_spec_says() -> None:
    assert {e.key for e in CAPTURED} == {
        "inbound",
        "agentInput",
        "agentOutput",
        "deliver",
        "eventsAgent",
        "eventsTaskExecuted",
        "eventsSwarm",
        "eventsSecret",
        "deadLetter",
    }
    assert {"agentControl", "agentRoute", "hostIpc"} <= {e.key for e in REQUESTS}
    assert all(e.address.startswith("svc.") for e in REQUESTS if e.key.startswith("svc"))


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        (subjects.inbound("telegram", 4242), "inbound"),
        (subjects.inbound("web", "conv with spaces"), "inbound"),
        (subjects.agent_input("coder"), "agentInput"),
        (subjects.agent_output("coder"), "agentOutput"),
        (subjects.agent_control("coder"), "agentControl"),
        (subjects.agent_route("coder"), "agentRoute"),
        (subjects.agent_ready("coder"), "agentReady"),
        (subjects.host_ipc("coder"), "hostIpc"),
        (subjects.swarm_chat("0190abcd", "group-0"), "swarmChat"),
        (subjects.deliver("telegram", -100123), "deliver"),
        (subjects.events_agent("coder"), "eventsAgent"),
        (subjects.EVENTS_TASK_EXECUTED, "eventsTaskExecuted"),
        (subjects.events_swarm("0190abcd"), "eventsSwarm"),
        (subjects.events_secret("deleted"), "eventsSecret"),
        (subjects.dead_letter("INBOUND", "router"), "deadLetter"),
        (subjects.service_command("vault", "resolve"), "svcVaultResolve"),
        (subjects.service_command("scheduler", "run-now"), "svcSchedulerRunNow"),
    ],
)
def test_every_subject_builder_lands_on_exactly_one_entry(subject: str, key: str) -> None:
    assert catalog.lookup(subject).key == key
    assert [e.key for e in CATALOG if e.matches(subject)] == [key]


def test_a_subject_nobody_declared_has_no_contract() -> None:
    with pytest.raises(KeyError):
        catalog.lookup("agent.coder.telemetry")
    with pytest.raises(KeyError):
        catalog.lookup("svc.vault.steal")


@pytest.mark.parametrize(
    ("key", "wildcard"),
    [
        ("agentInput", subjects.AGENT_INPUT_ALL),
        ("agentOutput", subjects.AGENT_OUTPUT_ALL),
        ("hostIpc", subjects.HOST_IPC_ALL),
        ("swarmChat", subjects.SWARM_CHAT_ALL),
        ("agentControl", catalog.AGENT_CONTROL_ALL),
        ("agentRoute", catalog.AGENT_ROUTE_ALL),
        ("agentReady", catalog.AGENT_READY_ALL),
        ("eventsAgent", catalog.EVENTS_AGENT_ALL),
        ("eventsSwarm", catalog.EVENTS_SWARM_ALL),
        ("eventsSecret", catalog.EVENTS_SECRET_ALL),
    ],
)
def test_wildcards_agree_with_the_subjects_module(key: str, wildcard: str) -> None:
    assert catalog.by_key(key).wildcard == wildcard


def test_every_svc_reply_may_be_a_service_error() -> None:
    for entry in REQUESTS:
        if entry.address.startswith("svc."):
            assert ServiceError in entry.reply_messages()


def test_payload_adapters_validate_bodies_of_their_subject() -> None:
    entry = catalog.lookup(subjects.agent_control("coder"))
    assert entry.payload_adapter().validate_json('{"command": "ping"}').command == "ping"
    assert entry.reply_adapter().validate_json('{"status": "ok"}').status == "ok"
    with pytest.raises(ValueError, match="no reply"):
        catalog.by_key("inbound").reply_adapter()
