"""A long message split into messages Telegram accepts (spec §11.11, done safely).

Each piece is at most ``limit`` UTF-16 code units (4096 for a message). Where
a piece ends:

1. never inside a character, nor between a character and what joins or
   modifies it (combining marks, variation selectors, skin tones, the zero
   width joiner of emoji sequences, the second half of a flag);
2. a code block (``pre``) that fits in one message is never cut: the piece
   ends before it. A code block longer than a message is cut after one of its
   lines, and each piece of it is a ``pre`` with the same language;
3. otherwise after a paragraph (blank line), else after a line, else after a
   word, each only when that leaves the piece more than half full (upstream
   cut at a newline only past half); else as late as rule 1 allows.

Any other entity crossing a cut becomes two entities, one in each piece.

What is dropped: only whitespace. A piece never ends with whitespace and never
starts with a line break, so the characters between two pieces (and after the
last) are whitespace; no piece is empty or whitespace only.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right

from praktor_gateway_telegram.render.text import (
    MESSAGE_LIMIT,
    FormattedText,
    utf16_offsets,
)

_ZWJ = "\u200d"
_LINE_BREAKS = "\r\n"
_SEPARATORS = ("\n\n", "\n", " ")
"""Where to prefer ending a piece, best first."""


def split_message(message: FormattedText, limit: int = MESSAGE_LIMIT) -> list[FormattedText]:
    """``message`` as one or more messages of at most ``limit`` UTF-16 units each."""
    units = utf16_offsets(message.text)
    pieces: list[FormattedText] = []
    for start, end in chunk_spans(message, limit):
        low, high = units[start], units[end]
        entities = []
        for entity in message.entities:
            clipped_start, clipped_end = max(entity.offset, low), min(entity.end, high)
            if clipped_end > clipped_start:
                entities.append(entity.moved(clipped_start - low, clipped_end - clipped_start))
        pieces.append(FormattedText(message.text[start:end], tuple(entities)))
    return pieces


def chunk_spans(message: FormattedText, limit: int = MESSAGE_LIMIT) -> list[tuple[int, int]]:
    """Where each piece of ``message`` starts and ends, as Python string indices."""
    if limit < 2:
        raise ValueError("a message limit must hold at least one character (2 UTF-16 units)")
    return _Splitter(message, limit).spans()


class _Splitter:
    def __init__(self, message: FormattedText, limit: int) -> None:
        self.text = message.text
        self.limit = limit
        self.units = utf16_offsets(self.text)
        self.code_blocks = sorted(
            (self._index(entity.offset), self._index(entity.end))
            for entity in message.entities
            if entity.type == "pre"
        )

    def _index(self, unit: int) -> int:
        """The string index at a UTF-16 offset (rounded down inside a surrogate pair)."""
        index = bisect_left(self.units, unit)
        if index < len(self.units) and self.units[index] == unit:
            return index
        return max(index - 1, 0)

    def _size(self, start: int, end: int) -> int:
        return self.units[end] - self.units[start]

    def spans(self) -> list[tuple[int, int]]:
        text, spans = self.text, []
        position = self._skip_line_breaks(0)
        while position < len(text):
            cut = self._cut(position)
            end = cut
            while end > position and text[end - 1].isspace():
                end -= 1
            if end > position:
                spans.append((position, end))
            position = self._skip_line_breaks(cut)
        return spans

    def _skip_line_breaks(self, position: int) -> int:
        while position < len(self.text) and self.text[position] in _LINE_BREAKS:
            position += 1
        return position

    def _cut(self, start: int) -> int:
        """Where the piece beginning at ``start`` ends (an index past ``start``)."""
        if self._size(start, len(self.text)) <= self.limit:
            return len(self.text)
        window = self._window_end(start)
        half = self.limit // 2
        block = self._code_block_across(window)
        if block is not None:
            return self._cut_at_code_block(start, window, block)
        for separator in _SEPARATORS:
            found = self._last_separator(separator, start, window)
            if found is not None and self._size(start, found) > half:
                return found + len(separator)
        return window

    def _window_end(self, start: int) -> int:
        """The furthest place after ``start`` a piece may end by size and by characters."""
        furthest = bisect_right(self.units, self.units[start] + self.limit) - 1
        end = furthest
        while end > start and not _is_boundary(self.text, end):
            end -= 1
        # One cluster longer than the limit: cut it between characters.
        return end if end > start else furthest

    def _code_block_across(self, cut: int) -> tuple[int, int] | None:
        for block_start, block_end in self.code_blocks:
            if block_start < cut < block_end:
                return block_start, block_end
        return None

    def _cut_at_code_block(self, start: int, window: int, block: tuple[int, int]) -> int:
        block_start, block_end = block
        fits = self._size(block_start, block_end) <= self.limit
        if block_start > start and (fits or self._size(start, block_start) > self.limit // 2):
            return block_start
        line = self.text.rfind("\n", max(block_start, start), window)
        if line >= start:
            return line + 1
        return window

    def _last_separator(self, separator: str, start: int, window: int) -> int | None:
        """The last ``separator`` that ends within the window and not inside a code block."""
        high = window
        while True:
            found = self.text.rfind(separator, start, high)
            if found < 0:
                return None
            if self._code_block_across(found + len(separator)) is None:
                return found
            high = found + len(separator) - 1


def _is_boundary(text: str, index: int) -> bool:
    """Whether a message may end between ``text[index - 1]`` and ``text[index]``."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if before == _ZWJ or _extends(after):
        return False
    if _is_regional_indicator(after) and _is_regional_indicator(before):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0
    return True


def _extends(char: str) -> bool:
    """A character that belongs to the one before it."""
    code = ord(char)
    return (
        char == _ZWJ
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
