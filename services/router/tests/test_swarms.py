"""From ``@swarm`` to the swarm service's launch request (spec §11.10, §14.1)."""

from __future__ import annotations

from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import ServiceError
from praktor_common.ids import new_id
from praktor_router.parsing import SwarmCommand, parse_swarm
from praktor_router.swarms import NOT_AVAILABLE, launch_request, launched_text, swarm_id_for

ORIGIN = Origin(channel="telegram", chat_id="42", user_id="7")


def command(text: str) -> SwarmCommand:
    parsed = parse_swarm(text)
    assert isinstance(parsed, SwarmCommand)
    return parsed


def test_a_pipeline_becomes_roles_named_after_their_agents_with_directed_links() -> None:
    msg_id = new_id()
    request = launch_request(command("researcher>writer: summarize X"), ORIGIN, msg_id)
    assert not isinstance(request, str)
    assert request.name == "Telegram Swarm"
    assert request.task == "summarize X"
    assert [(a.role, a.agent_id, a.workspace) for a in request.agents] == [
        ("researcher", "researcher", "researcher"),
        ("writer", "writer", "writer"),
    ]
    assert [(s.from_, s.to, s.bidirectional) for s in request.synapses] == [
        ("researcher", "writer", False)
    ]
    assert request.lead_agent == "writer"
    assert request.origin == ORIGIN
    assert request.id == swarm_id_for(msg_id)


def test_a_redelivered_message_launches_the_same_swarm_id() -> None:
    msg_id = new_id()
    assert swarm_id_for(msg_id) == swarm_id_for(msg_id)
    assert swarm_id_for(msg_id) != swarm_id_for(new_id())


def test_swarm_ids_of_messages_a_moment_apart_differ_in_their_first_8_hex_digits() -> None:
    ids = {swarm_id_for(new_id())[:8] for _ in range(50)}
    assert len(ids) == 50


def test_pairs_are_bidirectional_and_the_first_agent_leads() -> None:
    request = launch_request(command("a<>b,c: talk"), ORIGIN, new_id())
    assert not isinstance(request, str)
    assert [(s.from_, s.to, s.bidirectional) for s in request.synapses] == [("a", "b", True)]
    assert request.lead_agent == "a"


def test_an_agent_name_too_long_for_a_role_is_explained() -> None:
    request = launch_request(command("a-very-long-agent-name-indeed>b: x"), ORIGIN, new_id())
    assert isinstance(request, str)
    assert "at most 24" in request


def test_a_missing_swarm_service_means_swarms_are_not_available_yet() -> None:
    text, failed = launched_text(
        command("a>b: x"), ServiceError(error=NOT_AVAILABLE, code="unavailable")
    )
    assert failed
    assert text.startswith("Swarms are not available yet")


def test_a_refused_launch_says_why() -> None:
    text, failed = launched_text(command("a>b: x"), ServiceError(error="cycle", code="invalid"))
    assert failed
    assert text == "Failed to launch the swarm: cycle"
