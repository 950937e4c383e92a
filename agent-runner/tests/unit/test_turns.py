"""The turn manager: order, parallel tasks, abort, shutdown, settling, routing."""

from __future__ import annotations

import asyncio

from claude_agent_sdk import CLIConnectionError
from fake_claude import FakeClaude, FakeSink, handle, job, manager

from praktor_agent_runner.turns import ROUTE_INSTRUCTION, PartialText
from praktor_common.contracts.agent import PingReply
from praktor_common.testing.nats import wait_until

IDLE = PingReply(processing=False, pending_messages=0, active_tasks=0, background_tasks=0)


async def test_conversational_turns_run_one_at_a_time_in_order() -> None:
    claude, sink = FakeClaude(), FakeSink()
    first_done = claude.hold("first")
    turns = manager(claude, sink)
    first, second = job("first"), job("second")
    await turns.submit(first)
    await turns.submit(second)
    await wait_until(lambda: claude.asked == ["first"])
    await asyncio.sleep(0.1)
    assert claude.asked == ["first"], "the second waits for the first"
    assert turns.ping() == PingReply(
        processing=True, pending_messages=1, active_tasks=0, background_tasks=0
    )

    first_done.set()
    await turns.wait_idle()
    assert claude.asked == ["first", "second"]
    assert [r.msg_id for r in sink.results] == [first.turn.msg_id, second.turn.msg_id]
    assert [r.content for r in sink.results] == ["answer to first", "answer to second"]
    assert handle(first).acks == handle(second).acks == 1
    assert len({p.name for p in claude.processes}) == 1, "both in the conversation's process"
    assert turns.ping() == IDLE


async def test_partial_text_is_published_before_the_result() -> None:
    claude, sink = FakeClaude(), FakeSink()
    turns = manager(claude, sink)
    one = job("hello")
    await turns.submit(one)
    await turns.wait_idle()
    assert sink.texts[0].content == "Working"
    assert [t.seq for t in sink.texts] == list(range(len(sink.texts)))
    assert all(t.msg_id == one.turn.msg_id and t.origin == one.turn.origin for t in sink.texts)


async def test_tasks_run_in_fresh_processes_in_parallel_up_to_the_limit() -> None:
    claude, sink = FakeClaude(), FakeSink()
    release = [claude.hold(f"task {n}") for n in range(3)]
    turns = manager(claude, sink, max_parallel_tasks=2)
    tasks = [job(f"task {n}", kind="task") for n in range(3)]
    for t in tasks:
        await turns.submit(t)
    await wait_until(lambda: len(claude.asked) == 2)
    assert turns.ping() == PingReply(
        processing=False, pending_messages=1, active_tasks=2, background_tasks=0
    )
    chat = job("meanwhile")
    await turns.submit(chat)
    await wait_until(lambda: sink.result_for(chat) is not None)

    for event in release:
        event.set()
    await turns.wait_idle()
    assert all(handle(t).acks == 1 for t in tasks)
    task_processes = [p for p in claude.processes if p.prompts[0].startswith("task")]
    assert len(task_processes) == 3
    assert all(p.closed for p in task_processes)
    assert len({r.session_id for r in sink.results}) == 4


async def test_abort_interrupts_what_runs_drops_what_waits_and_publishes_nothing() -> None:
    claude, sink = FakeClaude(), FakeSink()
    for prompt in ("chat", "task"):
        claude.hold(prompt)
    turns = manager(claude, sink, max_parallel_tasks=1)
    chat, queued_chat = job("chat"), job("queued chat")
    task, queued_task = job("task", kind="task"), job("queued task", kind="task")
    for j in (chat, queued_chat, task, queued_task):
        await turns.submit(j)
    await wait_until(lambda: sorted(claude.asked) == ["chat", "task"])

    await turns.abort()
    await turns.wait_idle()

    assert sink.results == []
    assert [handle(j).acks for j in (chat, queued_chat, task, queued_task)] == [1, 1, 1, 1]
    assert sorted(claude.asked) == ["chat", "task"]
    assert turns.ping() == IDLE

    after = job("after")
    await turns.submit(after)
    await turns.wait_idle()
    assert sink.result_for(after) is not None, "work that comes after an abort runs"


async def test_a_turn_that_ignores_the_interrupt_is_cancelled_and_its_process_ended() -> None:
    claude, sink = FakeClaude(ignore_interrupt=True), FakeSink()
    claude.hold("stuck")
    turns = manager(claude, sink)
    stuck = job("stuck")
    await turns.submit(stuck)
    await wait_until(lambda: claude.asked == ["stuck"])
    await turns.abort()
    await turns.wait_idle()
    assert handle(stuck).acks == 1
    assert sink.results == []
    assert claude.processes[0].closed
    assert claude.finished_healthy == [False]


async def test_shutdown_hands_back_what_waits_and_what_does_not_finish_in_time() -> None:
    claude, sink = FakeClaude(), FakeSink()
    claude.hold("long")
    turns = manager(claude, sink)
    long, waiting = job("long"), job("waiting")
    await turns.submit(long)
    await turns.submit(waiting)
    await wait_until(lambda: claude.asked == ["long"])

    await turns.shutdown(grace=0.2)

    assert (handle(waiting).naks, handle(waiting).acks) == (1, 0)
    assert (handle(long).naks, handle(long).acks) == (1, 0)
    assert sink.results == []
    late = job("late")
    await turns.submit(late)
    assert handle(late).naks == 1, "nothing is taken once stopping"


async def test_shutdown_lets_a_turn_that_finishes_in_time_publish_and_acknowledge() -> None:
    claude, sink = FakeClaude(), FakeSink()
    soon = claude.hold("soon")
    turns = manager(claude, sink)
    one = job("soon")
    await turns.submit(one)
    await wait_until(lambda: claude.asked == ["soon"])
    asyncio.get_running_loop().call_later(0.1, soon.set)
    await turns.shutdown(grace=5)
    assert handle(one).acks == 1
    assert sink.result_for(one) is not None


async def test_an_input_delivered_again_while_held_is_ignored_and_after_its_answer_acked() -> None:
    claude, sink = FakeClaude(), FakeSink()
    go = claude.hold("once")
    turns = manager(claude, sink)
    first = job("once")
    again = job("once", msg_id=first.turn.msg_id, delivered=2)
    await turns.submit(first)
    await turns.submit(again)
    go.set()
    await turns.wait_idle()
    assert handle(again).settled is False
    late = job("once", msg_id=first.turn.msg_id, delivered=3)
    await turns.submit(late)
    assert handle(late).acks == 1
    assert claude.asked == ["once"]
    assert len(sink.results) == 1


async def test_a_result_that_cannot_be_published_hands_the_input_back() -> None:
    claude, sink = FakeClaude(), FakeSink(fail_results=True)
    turns = manager(claude, sink)
    one = job("hello")
    await turns.submit(one)
    await turns.wait_idle()
    assert (handle(one).acks, handle(one).naks) == (0, 1)


async def test_a_failing_claude_run_becomes_an_error_result_and_is_acknowledged() -> None:
    claude, sink = FakeClaude(fail={"hello": "Reached maximum number of turns"}), FakeSink()
    turns = manager(claude, sink)
    one = job("hello")
    await turns.submit(one)
    await turns.wait_idle()
    outcome = sink.result_for(one)
    assert outcome is not None
    assert outcome.is_error
    assert outcome.terminal_reason == "max_turns"
    assert outcome.content == "Error: Reached maximum number of turns"
    assert handle(one).acks == 1
    assert claude.finished_healthy == [False]


async def test_a_session_that_cannot_be_resumed_is_retried_in_a_new_one() -> None:
    claude, sink = FakeClaude(session_id="gone", missing_session="gone"), FakeSink()
    turns = manager(claude, sink)
    one = job("hello")
    await turns.submit(one)
    await turns.wait_idle()
    outcome = sink.result_for(one)
    assert outcome is not None
    assert outcome.content == "answer to hello"
    assert outcome.session_id not in (None, "gone")
    assert claude.processes[0].closed


async def test_a_redelivered_turn_is_told_and_numbers_its_text_above_the_first_try() -> None:
    claude, sink = FakeClaude(), FakeSink()
    turns = manager(claude, sink)
    await turns.submit(job("again", delivered=2))
    await turns.wait_idle()
    assert claude.asked[0].startswith("[Praktor: this message is delivered again (attempt 2)")
    assert sink.texts[0].seq == 10_000


async def test_ping_counts_the_background_tasks_of_running_turns() -> None:
    claude, sink = FakeClaude(background={"busy": 2}), FakeSink()
    go = claude.hold("busy")
    turns = manager(claude, sink)
    await turns.submit(job("busy"))
    await wait_until(lambda: turns.ping().background_tasks == 2)
    go.set()
    await turns.wait_idle()
    assert turns.ping() == IDLE


async def test_routing_answers_with_the_models_word_or_our_own_id() -> None:
    claude, sink = FakeClaude(), FakeSink()
    turns = manager(claude, sink)
    question = f"{ROUTE_INSTRUCTION}\n\nUser message: Please write a poem"
    claude.answers[question] = "  writer\n"
    assert await turns.route("Please write a poem") == "writer"
    assert claude.asked[-1] == question
    assert claude.processes[-1].closed
    assert await turns.route("   ") == "coder"

    claude.hold("busy")
    await turns.submit(job("busy"))
    await wait_until(lambda: turns.busy)
    assert await turns.route("who?") == "coder"
    await turns.abort()


async def test_clear_session_asks_the_sessions_to_forget() -> None:
    claude = FakeClaude(session_id="s-1")
    turns = manager(claude, FakeSink())
    await turns.clear_session()
    assert (claude.cleared, claude.session_id) == (1, None)


async def test_partial_text_is_sent_at_once_then_at_most_every_interval() -> None:
    sent: list[tuple[int, str]] = []

    async def publish(seq: int, text: str) -> None:
        sent.append((seq, text))

    partial = PartialText(publish, interval=0.2, first_seq=5)
    for text in ("a", "ab", "abc"):
        partial.update(text)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    partial.update("abc")
    await asyncio.sleep(0.05)
    await partial.close()
    assert sent == [(5, "a"), (6, "abc")]


async def test_a_process_that_died_between_turns_is_replaced_and_the_turn_retried() -> None:
    claude, sink = FakeClaude(), FakeSink()
    claude.first_error = CLIConnectionError("ProcessTransport is not ready for writing")
    turns = manager(claude, sink)
    one = job("hello")
    await turns.submit(one)
    await turns.wait_idle()
    outcome = sink.result_for(one)
    assert outcome is not None
    assert outcome.content == "answer to hello"
    assert len(claude.processes) == 2
    assert claude.processes[0].closed
    assert handle(one).acks == 1


async def test_a_text_publish_that_loses_its_cancellation_does_not_hold_the_turn() -> None:
    claude, sink = FakeClaude(), FakeSink(slow_texts_lose_cancellation=True)
    turns = manager(claude, sink)
    one, two = job("one"), job("two")
    await turns.submit(one)
    await turns.submit(two)
    async with asyncio.timeout(5):
        await turns.wait_idle()
    assert [r.content for r in sink.results] == ["answer to one", "answer to two"]
    assert handle(one).acks == handle(two).acks == 1


async def test_a_turn_is_settled_before_its_process_housekeeping_which_never_blocks_the_next() -> (
    None
):
    claude, sink = FakeClaude(housekeeping_hangs=True), FakeSink()
    turns = manager(claude, sink, interrupt_grace=0.1)
    turns.housekeeping_wait = 0.2
    first, second = job("first"), job("second")
    await turns.submit(first)
    await turns.submit(second)
    async with asyncio.timeout(1):
        await wait_until(lambda: handle(first).acks == 1)
    assert sink.result_for(first) is not None, "published and acknowledged before housekeeping"
    async with asyncio.timeout(2):
        await turns.wait_idle()
    assert sink.result_for(second) is not None
    assert handle(second).acks == 1
    assert claude.finished_healthy == [True, True]
    await turns.shutdown(0.1)
