"""Token counts are read from the answer as it passes, however it is cut into chunks."""

from __future__ import annotations

import json

import pytest

from praktor_model_proxy.usage import UsageMeter

SSE = (
    b'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-x",'
    b'"usage":{"input_tokens":120,"cache_read_input_tokens":30,"output_tokens":1}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":5}}\n\n'
    b'event: message_delta\r\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\r\n\r\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


@pytest.mark.parametrize("size", [1, 7, 64, len(SSE)])
def test_a_streamed_answer_is_counted_whatever_the_chunk_size(size: int) -> None:
    meter = UsageMeter(streamed=True)
    for start in range(0, len(SSE), size):
        meter.feed(SSE[start : start + size])
    usage = meter.finish()
    assert (usage.model, usage.input_tokens, usage.output_tokens) == ("claude-x", 120, 9)
    assert usage.cache_read_input_tokens == 30


def test_a_json_answer_is_counted_when_it_ends() -> None:
    body = json.dumps(
        {"model": "claude-y", "usage": {"input_tokens": 3, "output_tokens": 4}}
    ).encode()
    meter = UsageMeter(streamed=False)
    meter.feed(body[:10])
    meter.feed(body[10:])
    usage = meter.finish()
    assert (usage.model, usage.input_tokens, usage.output_tokens) == ("claude-y", 3, 4)


def test_an_answer_without_usage_counts_nothing() -> None:
    meter = UsageMeter(streamed=True)
    meter.feed(b"data: not json\n\ndata: [1,2]\n\n: comment\n")
    assert meter.finish().total == 0
