"""The pure pieces of a turn: prompt sent, text so far, background tasks, outcome."""

from __future__ import annotations

import pytest
from sdk_messages import (
    SESSION,
    assistant,
    result,
    streamed,
    task_notified,
    task_started,
    task_updated,
    tool_call,
)

from praktor_agent_runner.outcome import (
    BackgroundTasks,
    Outcome,
    TextSoFar,
    compose_prompt,
    error_outcome,
    first_seq,
    infer_terminal_reason,
    result_outcome,
    result_output,
    text_output,
)
from praktor_common.contracts.agent import AgentInput, Usage
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id

ORIGIN = Origin(channel="telegram", chat_id="42")


def turn(text: str = "hi", **values: object) -> AgentInput:
    return AgentInput.model_validate(
        {
            "msg_id": new_id(),
            "agent_id": "coder",
            "text": text,
            "origin": ORIGIN,
            "sender": "user:7",
            **values,
        }
    )


# --- the prompt sent ------------------------------------------------------------------


def test_a_first_delivery_is_sent_as_written() -> None:
    assert compose_prompt(turn("do it"), delivered=1) == "do it"


@pytest.mark.parametrize(("attempt", "delivered", "shown"), [(1, 2, 2), (3, 1, 3), (2, 4, 4)])
def test_a_redelivered_input_tells_the_agent_it_is_a_retry(
    attempt: int, delivered: int, shown: int
) -> None:
    prompt = compose_prompt(turn("do it", attempt=attempt), delivered=delivered)
    note, text = prompt.split("\n\n")
    assert note.startswith(f"[Praktor: this message is delivered again (attempt {shown})")
    assert "check before repeating anything with side effects" in note
    assert text == "do it"


def test_a_retry_notice_is_not_noted_twice() -> None:
    notice = turn("An earlier turn was interrupted.", kind="retry_notice", attempt=2)
    assert compose_prompt(notice, delivered=3) == "An earlier turn was interrupted."


def test_each_try_numbers_its_partial_texts_above_the_previous_try() -> None:
    assert first_seq(turn(), delivered=1) == 0
    assert first_seq(turn(), delivered=2) == 10_000
    assert first_seq(turn(attempt=3), delivered=1) == 20_000


# --- the text so far ------------------------------------------------------------------


def feed_all(text: TextSoFar, messages: list[object]) -> list[bool]:
    return [text.feed(m) for m in messages]  # type: ignore[arg-type]


def test_streamed_deltas_build_the_text_and_the_final_message_adds_nothing() -> None:
    text = TextSoFar()
    changed = feed_all(text, [*streamed("m1", "Hel", "lo"), assistant("m1", "Hello")])
    assert text.text == "Hello"
    assert changed == [False, False, True, True, False]


def test_the_text_of_every_message_of_the_turn_is_kept_one_block_after_the_other() -> None:
    text = TextSoFar()
    feed_all(
        text,
        [*streamed("m1", "Let me check."), tool_call("m1", "Read"), *streamed("m2", "Found it.")],
    )
    assert text.text == "Let me check.\n\nFound it."


def test_an_unstreamed_assistant_message_is_taken_whole() -> None:
    text = TextSoFar()
    assert text.feed(assistant("m1", "One.", "Two."))
    assert text.text == "One.\n\nTwo."


def test_sub_agents_text_is_not_the_agents_own() -> None:
    text = TextSoFar()
    feed_all(text, [*streamed("s1", "inner", parent="toolu_9"), assistant("s2", "x", parent="t")])
    assert text.text == ""


def test_background_tasks_are_counted_until_they_end_either_way() -> None:
    tasks = BackgroundTasks()
    for message in (task_started("a"), task_started("b"), task_started("c")):
        tasks.observe(message)
    tasks.observe(task_notified("a"))
    tasks.observe(task_updated("b", "running"))
    assert tasks.count == 2
    tasks.observe(task_updated("b", "killed"))
    assert tasks.count == 1


# --- outcomes -------------------------------------------------------------------------


def test_a_success_publishes_the_result_text_its_usage_and_session() -> None:
    usage = {"input_tokens": 12, "output_tokens": 7, "cache_read_input_tokens": 3, "x": "y"}
    outcome = result_outcome(result("The answer.", usage=usage), streamed="The answer.")
    assert outcome == Outcome(
        content="The answer.",
        terminal_reason="completed",
        is_error=False,
        usage=Usage(input_tokens=12, output_tokens=7, cache_read_input_tokens=3),
        session_id=SESSION,
    )


def test_an_empty_result_falls_back_to_what_was_streamed() -> None:
    outcome = result_outcome(result(""), streamed="Streamed answer.")
    assert outcome.content == "Streamed answer."


def test_a_turn_stopped_by_max_turns_says_why() -> None:
    stopped = result(None, subtype="error_max_turns", is_error=True, terminal_reason=None)
    outcome = result_outcome(stopped, streamed="")
    assert outcome.terminal_reason == "max_turns"
    assert outcome.is_error
    assert outcome.content == "Error: max turns"


def test_an_error_result_keeps_the_clis_reason_and_errors() -> None:
    failed = result(
        None,
        subtype="error_during_execution",
        is_error=True,
        terminal_reason="api_error",
        errors=["overloaded"],
    )
    outcome = result_outcome(failed, streamed="")
    assert (outcome.terminal_reason, outcome.content) == ("api_error", "Error: overloaded")


def test_an_unusable_terminal_reason_is_replaced() -> None:
    outcome = result_outcome(result("ok", terminal_reason="Weird Reason!"), streamed="")
    assert outcome.terminal_reason == "completed"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Reached maximum number of turns (200)", "max_turns"),
        ("blocking budget limit reached", "blocking_limit"),
        ("Operation aborted by user", "aborted_tools"),
        ("maximum number of turns after abort", "max_turns"),
        ("connection refused", "error"),
    ],
)
def test_the_reason_of_a_failure_is_inferred_from_its_text(message: str, reason: str) -> None:
    assert infer_terminal_reason(message) == reason


def test_a_failure_before_any_result_is_an_error_result() -> None:
    outcome = error_outcome(RuntimeError("Reached maximum number of turns"), "", "s-1")
    assert outcome == Outcome(
        content="Error: Reached maximum number of turns",
        terminal_reason="max_turns",
        is_error=True,
        session_id="s-1",
    )
    assert error_outcome(RuntimeError("boom"), "partial answer", None).content == "partial answer"


def test_outputs_carry_the_inputs_correlation_ids_and_origin() -> None:
    task_id, run_id = new_id(), new_id()
    task = turn(
        "report",
        kind="task",
        task_id=task_id,
        task_run_id=run_id,
        sender="scheduler",
        origin=Origin(channel="scheduler", chat_id=task_id),
    )
    text = text_output(task, 3, "so far")
    final = result_output(task, Outcome(content="done", terminal_reason="completed"))
    for output in (text, final):
        assert (output.msg_id, output.task_id, output.task_run_id) == (task.msg_id, task_id, run_id)
        assert output.origin == task.origin
    assert (text.seq, text.content) == (3, "so far")
    assert final.content == "done"
