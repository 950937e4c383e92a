"""Files a person sent with a turn: the host saves them first, the prompt names them."""

from __future__ import annotations

from fake_claude import FakeClaude, FakeSink, job, manager

from praktor_agent_runner.uploads import lost_files_line, with_uploads
from praktor_common.contracts.agent import AgentInput

FILE = {
    "bucket": "praktor-files",
    "key": "telegram/7/1/report.txt",
    "name": "report.txt",
    "mime_type": "text/plain",
    "size": 3,
    "kind": "document",
}
LINE = "[File received: report.txt (text/plain, 3 bytes) saved to uploads/1_report.txt]"


async def test_a_turn_with_files_asks_the_host_first_and_its_prompt_ends_with_the_lines() -> None:
    claude, sink = FakeClaude(), FakeSink()
    asked: list[str] = []

    async def uploads(turn: AgentInput) -> str:
        asked.append(turn.msg_id)
        return LINE

    turns = manager(claude, sink, uploads=uploads)
    with_file = job("What is in it?", attachments=[FILE])
    await turns.submit(with_file)
    await turns.submit(job("no files here"))
    await turns.wait_idle()

    assert asked == [with_file.turn.msg_id], "only the turn with files asks"
    assert claude.asked == [f"What is in it?\n\n{LINE}", "no files here"]


def test_a_bare_file_is_the_whole_prompt_and_no_lines_leave_the_prompt_alone() -> None:
    assert with_uploads("", LINE) == LINE
    assert with_uploads("hi", "") == "hi"


def test_files_that_could_not_be_received_are_named_for_the_agent() -> None:
    turn = job("see attached", attachments=[FILE]).turn
    assert lost_files_line(turn) == (
        "[Files could not be received (report.txt): ask the person to send them again]"
    )
