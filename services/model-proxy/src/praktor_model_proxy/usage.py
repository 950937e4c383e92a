"""Counting the tokens of one model response without keeping its body.

The Messages API reports usage in the response: a JSON message carries
``usage`` (and ``model``); a streamed one carries it in ``message_start``
(``message.usage``: input and cache tokens, the first output count) and in
``message_delta`` (``usage.output_tokens``, cumulative). :class:`UsageMeter`
is fed the response bytes as they pass through and keeps only the numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

MAX_LINE: Final = 1024 * 1024
"""A longer SSE line is passed through uncounted (usage lines are short)."""
_COUNTERS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass
class Usage:
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def take(self, usage: Any) -> None:
        """Take the counters present in a ``usage`` object (later values win)."""
        if not isinstance(usage, dict):
            return
        for name in _COUNTERS:
            value = usage.get(name)
            if isinstance(value, int) and value >= 0:
                setattr(self, name, value)

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in _COUNTERS)


class UsageMeter:
    """Reads usage out of a response body as it streams (SSE) or once it ends (JSON)."""

    def __init__(self, streamed: bool) -> None:
        self.usage = Usage()
        self._streamed = streamed
        self._pending = b""
        self._skipping = False
        self._json = bytearray()

    def feed(self, chunk: bytes) -> None:
        if not self._streamed:
            if len(self._json) + len(chunk) <= MAX_LINE:
                self._json += chunk
            return
        data = self._pending + chunk
        lines = data.split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            if self._skipping:
                self._skipping = False
                continue
            self._line(line)
        if len(self._pending) > MAX_LINE:
            self._pending = b""
            self._skipping = True

    def finish(self) -> Usage:
        if self._streamed:
            if self._pending and not self._skipping:
                self._line(self._pending)
            self._pending = b""
        else:
            try:
                body = json.loads(self._json)
            except ValueError:
                body = None
            if isinstance(body, dict):
                self._message(body)
            self._json = bytearray()
        return self.usage

    def _line(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        if not line.startswith(b"data:"):
            return
        try:
            event = json.loads(line[5:])
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            self._message(event["message"])
        elif kind == "message_delta":
            self.usage.take(event.get("usage"))

    def _message(self, message: dict[str, Any]) -> None:
        model = message.get("model")
        if isinstance(model, str):
            self.usage.model = model
        self.usage.take(message.get("usage"))
