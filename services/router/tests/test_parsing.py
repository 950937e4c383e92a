"""Golden tests for the router's pure parsing: `@agent` prefixes (spec §8) and `@swarm` (§11.10).

Each test is one case the upstream behaviour spec describes, named as the rule it pins.
"""

from __future__ import annotations

import pytest

from praktor_router.parsing import (
    AgentPrefix,
    SwarmCommand,
    SwarmErrorKind,
    SwarmSyntaxError,
    Synapse,
    parse_agent_prefix,
    parse_swarm,
)

AGENTS = frozenset({"coder", "writer", "researcher", "editor"})


def _ok(text: str, known: frozenset[str] | None = AGENTS) -> SwarmCommand:
    result = parse_swarm(text, known_agents=known)
    assert isinstance(result, SwarmCommand), result
    return result


def _err(text: str, known: frozenset[str] | None = AGENTS) -> SwarmSyntaxError:
    result = parse_swarm(text, known_agents=known)
    assert isinstance(result, SwarmSyntaxError), result
    return result


# --------------------------------------------------------------------------- §8 rule 1: @swarm


def test_swarm_prefix_with_a_space_routes_to_swarm_and_strips_only_the_prefix() -> None:
    assert parse_agent_prefix("@swarm coder>writer: draft it", AGENTS) == AgentPrefix(
        agent_id="swarm", text="coder>writer: draft it", swarm=True
    )


def test_swarm_prefix_wins_even_over_an_agent_named_swarm() -> None:
    assert parse_agent_prefix("@swarm a: b", AGENTS | {"swarm"}) == AgentPrefix(
        agent_id="swarm", text="a: b", swarm=True
    )


def test_swarm_without_a_trailing_space_is_not_the_swarm_prefix() -> None:
    assert parse_agent_prefix("@swarm", AGENTS) is None


def test_bare_swarm_addresses_an_agent_named_swarm_when_one_is_defined() -> None:
    assert parse_agent_prefix("@swarm", AGENTS | {"swarm"}) == AgentPrefix(
        agent_id="swarm", text="", swarm=False
    )


# --------------------------------------------------------------------------- §8 rule 2: @agent


def test_known_agent_prefix_routes_to_that_agent_with_the_remainder() -> None:
    assert parse_agent_prefix("@coder fix the build", AGENTS) == AgentPrefix(
        agent_id="coder", text="fix the build"
    )


def test_only_the_single_separating_space_is_stripped_from_the_remainder() -> None:
    assert parse_agent_prefix("@coder   fix it  ", AGENTS) == AgentPrefix(
        agent_id="coder", text="  fix it  "
    )


def test_known_agent_prefix_with_no_remainder_gives_empty_text() -> None:
    assert parse_agent_prefix("@coder", AGENTS) == AgentPrefix(agent_id="coder", text="")


def test_known_agent_prefix_followed_by_a_lone_space_gives_empty_text() -> None:
    assert parse_agent_prefix("@coder ", AGENTS) == AgentPrefix(agent_id="coder", text="")


def test_agent_names_match_case_sensitively() -> None:
    assert parse_agent_prefix("@Coder fix it", AGENTS) is None


def test_unknown_agent_falls_through_so_the_message_keeps_its_at_name() -> None:
    assert parse_agent_prefix("@nobody hello", AGENTS) is None


def test_name_is_split_at_a_space_only_not_at_other_whitespace() -> None:
    assert parse_agent_prefix("@coder\nfix it", AGENTS) is None
    assert parse_agent_prefix("@coder\tfix it", AGENTS) is None


def test_prefix_must_be_at_the_very_start_of_the_text() -> None:
    assert parse_agent_prefix(" @coder fix it", AGENTS) is None
    assert parse_agent_prefix("hey @coder fix it", AGENTS) is None


def test_lone_at_sign_is_not_a_prefix() -> None:
    assert parse_agent_prefix("@", AGENTS) is None
    assert parse_agent_prefix("@ coder", AGENTS) is None


def test_text_without_at_sign_has_no_prefix() -> None:
    assert parse_agent_prefix("coder fix it", AGENTS) is None


# --------------------------------------------------------------------------- §11.10 valid forms


def test_pipeline_orders_agents_links_each_to_the_next_and_leads_with_the_last() -> None:
    assert _ok("coder>writer>editor: ship the post") == SwarmCommand(
        agents=("coder", "writer", "editor"),
        lead="editor",
        synapses=(
            Synapse("coder", "writer", bidirectional=False),
            Synapse("writer", "editor", bidirectional=False),
        ),
        task="ship the post",
        pipeline=True,
    )


def test_pipeline_agent_names_are_trimmed() -> None:
    cmd = _ok("coder > writer: go")
    assert cmd.agents == ("coder", "writer")
    assert cmd.synapses == (Synapse("coder", "writer", bidirectional=False),)


def test_comma_list_makes_independent_agents_led_by_the_first() -> None:
    assert _ok("researcher, writer: summarise") == SwarmCommand(
        agents=("researcher", "writer"),
        lead="researcher",
        synapses=(),
        task="summarise",
        pipeline=False,
    )


def test_single_agent_is_a_one_agent_swarm_led_by_itself() -> None:
    assert _ok("coder: refactor") == SwarmCommand(
        agents=("coder",), lead="coder", synapses=(), task="refactor", pipeline=False
    )


def test_collaborative_pair_adds_both_agents_with_a_bidirectional_synapse() -> None:
    assert _ok("coder<>writer: pair on docs") == SwarmCommand(
        agents=("coder", "writer"),
        lead="coder",
        synapses=(Synapse("coder", "writer", bidirectional=True),),
        task="pair on docs",
        pipeline=False,
    )


def test_collaborative_pairs_mix_with_single_agents_and_lead_is_first_added() -> None:
    assert _ok("researcher, coder <> writer, editor: build it") == SwarmCommand(
        agents=("researcher", "coder", "writer", "editor"),
        lead="researcher",
        synapses=(Synapse("coder", "writer", bidirectional=True),),
        task="build it",
        pipeline=False,
    )


def test_spec_containing_both_arrow_and_pair_is_not_a_pipeline() -> None:
    # `>` alone would mean pipeline; `<>` anywhere forces the comma/pair form.
    cmd = _ok("coder<>writer,editor: x")
    assert cmd.pipeline is False


def test_duplicate_agents_are_silently_ignored_keeping_first_position() -> None:
    cmd = _ok("coder, writer, coder: x")
    assert cmd.agents == ("coder", "writer")
    assert cmd.lead == "coder"


def test_duplicate_agents_in_a_pipeline_keep_every_link_and_lead_is_last_element() -> None:
    cmd = _ok("coder>writer>coder: review loop")
    assert cmd.agents == ("coder", "writer")
    assert cmd.synapses == (
        Synapse("coder", "writer", bidirectional=False),
        Synapse("writer", "coder", bidirectional=False),
    )
    assert cmd.lead == "coder"


def test_spec_and_task_split_at_the_first_colon_space_and_both_are_trimmed() -> None:
    cmd = _ok("  coder :  do this: then that  ")
    assert cmd.agents == ("coder",)
    assert cmd.task == "do this: then that"


def test_colon_without_space_inside_the_task_is_kept() -> None:
    assert _ok("coder: open http://x:80").task == "open http://x:80"


def test_agent_names_are_not_checked_when_no_registry_is_given() -> None:
    assert _ok("ghost>phantom: haunt", known=None).agents == ("ghost", "phantom")


# --------------------------------------------------------------------------- §11.10 errors


def test_missing_colon_space_separator_returns_syntax_help_naming_the_three_forms() -> None:
    err = _err("coder>writer do it")
    assert err.kind is SwarmErrorKind.MISSING_SEPARATOR
    for form in ("a>b>c", "a,b,c", "a<>b"):
        assert form in err.message
    assert ": " in err.message


def test_colon_without_following_space_counts_as_missing_separator() -> None:
    assert _err("coder:do it").kind is SwarmErrorKind.MISSING_SEPARATOR


def test_empty_task_is_reported_as_task_required() -> None:
    err = _err("coder>writer:  ")
    assert err.kind is SwarmErrorKind.EMPTY_TASK
    assert "task is required" in err.message


def test_empty_task_is_reported_before_any_agent_problem() -> None:
    assert _err("ghost: ").kind is SwarmErrorKind.EMPTY_TASK


def test_unknown_agent_is_reported_by_name() -> None:
    err = _err("coder>ghost: x")
    assert err.kind is SwarmErrorKind.UNKNOWN_AGENT
    assert err.agent == "ghost"
    assert "unknown agent: ghost" in err.message


def test_empty_spec_is_an_empty_agent_name() -> None:
    err = _err(": do it")
    assert err.kind is SwarmErrorKind.EMPTY_AGENT_NAME
    assert "empty agent name" in err.message


def test_empty_pipeline_step_is_an_empty_agent_name() -> None:
    assert _err("coder>>writer: x").kind is SwarmErrorKind.EMPTY_AGENT_NAME


def test_empty_comma_segment_is_an_empty_agent_name() -> None:
    assert _err("coder,,writer: x").kind is SwarmErrorKind.EMPTY_AGENT_NAME


def test_half_empty_pair_is_an_empty_agent_name() -> None:
    assert _err("coder<>: x").kind is SwarmErrorKind.EMPTY_AGENT_NAME


def test_quirk_arrow_then_comma_parses_as_pipeline_with_agent_named_b_comma_c() -> None:
    err = _err("coder>writer,editor: x")
    assert err.kind is SwarmErrorKind.UNKNOWN_AGENT
    assert err.agent == "writer,editor"


def test_quirk_chained_pairs_split_at_the_first_pair_marker_only() -> None:
    err = _err("coder<>writer<>editor: x")
    assert err.kind is SwarmErrorKind.UNKNOWN_AGENT
    assert err.agent == "writer<>editor"


@pytest.mark.parametrize(
    "text",
    ["coder>writer do it", "coder: ", "coder>ghost: x", ": x"],
)
def test_every_error_message_explains_how_to_write_the_command(text: str) -> None:
    assert "@swarm" in _err(text).message


def test_results_are_frozen() -> None:
    cmd = _ok("coder: x")
    with pytest.raises(AttributeError):
        cmd.task = "y"  # type: ignore[misc]
    prefix = parse_agent_prefix("@coder x", AGENTS)
    assert prefix is not None
    with pytest.raises(AttributeError):
        prefix.text = "y"  # type: ignore[misc]
