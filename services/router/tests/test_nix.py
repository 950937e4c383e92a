"""``/nix <action> [package…] [@agent]`` payloads (spec §11.13)."""

from __future__ import annotations

import pytest

from praktor_router.nix import NIX_USAGE, NixCall, NixUsage, parse_nix


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("list", NixCall("general", "list")),
        ("ls @coder", NixCall("coder", "list")),
        ("search ripgrep fast", NixCall("general", "search", ("ripgrep",))),
        ("add ripgrep jq", NixCall("general", "add", ("ripgrep", "jq"))),
        ("install @coder ripgrep", NixCall("coder", "add", ("ripgrep",))),
        ("rm jq @coder @writer", NixCall("writer", "remove", ("jq",))),
        ("UPGRADE", NixCall("general", "upgrade")),
    ],
)
def test_actions_aliases_and_the_target_agent(payload: str, expected: NixCall) -> None:
    assert parse_nix(payload, "general") == expected


def test_no_arguments_show_the_usage() -> None:
    assert parse_nix("", "general") == NixUsage(NIX_USAGE)
    assert parse_nix("@coder", "general") == NixUsage(NIX_USAGE)


def test_an_unknown_action_is_named_with_the_usage() -> None:
    result = parse_nix("frobnicate x", "general")
    assert isinstance(result, NixUsage)
    assert result.text == f"Unknown action `frobnicate`.\n{NIX_USAGE}"


@pytest.mark.parametrize("action", ["search", "add", "remove", "rm"])
def test_actions_that_need_a_package_say_so(action: str) -> None:
    result = parse_nix(action, "general")
    assert isinstance(result, NixUsage)
    assert result.text.startswith(f"Usage: `/nix {action} <")


def test_without_a_default_agent_the_target_is_unknown() -> None:
    assert parse_nix("list", None) == NixCall(None, "list")
