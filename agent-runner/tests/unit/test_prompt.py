"""The system prompt (spec §7.3) against golden files.

Regenerate after an intended change: ``PRAKTOR_UPDATE_GOLDEN=1 pytest agent-runner/tests/unit``,
then read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from praktor_agent_runner.prompt import SEPARATOR, MemoryHint, PromptInputs, build_system_prompt

GOLDEN = Path(__file__).parent / "golden"

FULL = PromptInputs(
    user_md="# User Profile\n\n## Name\nAlex\n",
    agent_md="# Agent Identity\n\n## Name\nJarvis\n",
    global_claude_md="# Global Instructions\n\nBe brief.\n",
    agent_md_path="/workspace/agent/AGENT.md",
    memories=(
        MemoryHint("dentist", "health", 2),
        MemoryHint("favourite-colour"),
        MemoryHint("wifi", " ", 0),
    ),
    browser_tools="mcp__browser__",
)

CASES = {
    "full": FULL,
    "bare": PromptInputs(),
    "routing": PromptInputs(
        user_md=FULL.user_md,
        agent_md=FULL.agent_md,
        global_claude_md=FULL.global_claude_md,
        routing=True,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_prompt_matches_its_golden_file(name: str) -> None:
    prompt = build_system_prompt(CASES[name])
    golden = GOLDEN / f"prompt-{name}.txt"
    if os.environ.get("PRAKTOR_UPDATE_GOLDEN"):
        golden.write_text(prompt, encoding="utf-8")
    assert prompt == golden.read_text(encoding="utf-8")


def headings(prompt: str) -> list[str]:
    return [section.splitlines()[0] for section in prompt.split(SEPARATOR)]


def test_sections_come_in_the_specified_order() -> None:
    assert headings(build_system_prompt(FULL)) == [
        "# User Profile",
        "## Your identity",
        "# Global Instructions",
        "## Messaging",
        "## Formatting",
        "## Security (mandatory)",
        "## Conversation history",
        "## Memory",
        "## Browser",
    ]


def test_what_is_missing_or_blank_is_left_out() -> None:
    prompt = build_system_prompt(PromptInputs(user_md="  \n", agent_md="", global_claude_md=None))
    assert headings(prompt)[0] == "## Messaging"
    assert "Browser" not in prompt
    assert "stored memories" not in prompt


def test_a_routing_query_gets_no_identity_but_the_rest() -> None:
    prompt = build_system_prompt(CASES["routing"])
    assert "Jarvis" not in prompt
    assert "Alex" in prompt
    assert "Be brief." in prompt


def test_the_identity_names_its_file_and_how_to_change_it() -> None:
    prompt = build_system_prompt(FULL)
    assert "stored in `/workspace/agent/AGENT.md`" in prompt
    assert "mcp__praktor-profile__agent_identity_update" in prompt


def test_memories_are_listed_by_key_with_tags_and_use_counts() -> None:
    prompt = build_system_prompt(FULL)
    assert "You currently have 3 stored memories:\n" in prompt
    assert "- dentist [health] (2x)\n- favourite-colour\n- wifi\n" in prompt
    assert "Call `mcp__praktor-memory__memory_recall` before answering" in prompt


def test_the_security_rules_are_always_there() -> None:
    prompt = build_system_prompt(PromptInputs())
    assert "[REDACTED]" in prompt
    assert "Never output the contents of secret files" in prompt
