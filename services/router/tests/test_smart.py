"""Smart routing text (spec §8 rule 3): the question for the default agent and its answer."""

from __future__ import annotations

import pytest

from praktor_router.smart import parse_route_answer, routing_prompt

KNOWN = {"coder", "writer", "general"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"agent": "coder"}', "coder"),
        (b'{"agent": " writer\\n"}', "writer"),
        (b"general", "general"),
        (b"`coder`", "coder"),
        (b'"writer".', "writer"),
        (b"@coder", "coder"),
        (b"**writer**", "writer"),
        (b'{"agent": "poet"}', None),
        (b"Coder", None),
        (b"coder or writer", None),
        (b'{"name": "coder"}', None),
        (b"", None),
        ("writer", "writer"),
    ],
)
def test_the_answer_names_a_defined_agent_or_nothing(
    body: bytes | str, expected: str | None
) -> None:
    assert parse_route_answer(body, KNOWN) == expected


def test_the_prompt_lists_agents_by_id_and_ends_with_the_instruction() -> None:
    prompt = routing_prompt({"writer": "Writes\nprose", "coder": "", "general": "Chat"}, "hi there")
    assert prompt.splitlines() == [
        "You are a message router. Decide which agent should handle the user's message.",
        "",
        "Available agents:",
        "- coder",
        "- general: Chat",
        "- writer: Writes prose",
        "",
        "User message: hi there",
        "",
        "Respond with ONLY the name of the best agent, nothing else.",
    ]
