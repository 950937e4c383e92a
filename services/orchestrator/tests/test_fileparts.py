"""Parts of a file an agent uploads: in order, bounded, per agent, forgotten when stale."""

from __future__ import annotations

import pytest

from praktor_orchestrator.fileparts import FileParts, PartError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_parts_in_order_make_the_file_which_is_then_forgotten() -> None:
    parts = FileParts()
    for index, piece in enumerate((b"ab", b"cd", b"e")):
        parts.add("coder", "u1", index, piece)
    assert parts.take("coder", "u1") == b"abcde"
    with pytest.raises(PartError, match="no upload u1: send its parts first"):
        parts.take("coder", "u1")


def test_a_part_out_of_order_or_repeated_is_refused() -> None:
    parts = FileParts()
    with pytest.raises(PartError, match="start with part 0"):
        parts.add("coder", "u1", 1, b"x")
    parts.add("coder", "u1", 0, b"x")
    with pytest.raises(PartError, match="expected part 1, got part 0"):
        parts.add("coder", "u1", 0, b"x")


def test_an_upload_over_the_limit_is_dropped() -> None:
    parts = FileParts(max_bytes=4)
    parts.add("coder", "u1", 0, b"abc")
    with pytest.raises(PartError, match="larger than"):
        parts.add("coder", "u1", 1, b"de")
    assert parts.open_uploads("coder") == 0


def test_an_upload_belongs_to_the_agent_that_started_it() -> None:
    parts = FileParts()
    parts.add("coder", "u1", 0, b"secret")
    with pytest.raises(PartError, match="no upload u1"):
        parts.take("writer", "u1")
    assert parts.take("coder", "u1") == b"secret"


def test_an_agent_has_a_few_uploads_open_at_most() -> None:
    parts = FileParts(max_open=2)
    parts.add("coder", "u1", 0, b"1")
    parts.add("coder", "u2", 0, b"2")
    with pytest.raises(PartError, match="send them one after another"):
        parts.add("coder", "u3", 0, b"3")
    parts.add("writer", "u4", 0, b"4")  # another agent's uploads do not count


def test_an_upload_without_news_is_forgotten_after_its_ttl() -> None:
    clock = Clock()
    parts = FileParts(ttl=60, clock=clock)
    parts.add("coder", "u1", 0, b"x")
    clock.now = 59
    parts.add("coder", "u1", 1, b"y")
    clock.now = 110
    assert parts.take("coder", "u1") == b"xy"
    parts.add("coder", "u2", 0, b"x")
    clock.now = 171
    with pytest.raises(PartError, match="forgotten 60 s after the last one"):
        parts.take("coder", "u2")
