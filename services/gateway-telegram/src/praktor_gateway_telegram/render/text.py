"""Text with Telegram message entities: the shape every renderer returns.

Telegram measures entity offsets and lengths in UTF-16 code units; Python
strings index code points. A character outside the Basic Multilingual Plane
(most emoji) is one Python character but two UTF-16 units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MESSAGE_LIMIT = 4096
"""Most UTF-16 code units Telegram accepts in one message text."""

CAPTION_LIMIT = 1024
"""Most UTF-16 code units Telegram accepts in one media caption."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_offsets(text: str) -> list[int]:
    """``result[i]`` is the UTF-16 offset of ``text[i]``; ``result[len(text)]`` the total."""
    offsets = [0] * (len(text) + 1)
    total = 0
    for index, char in enumerate(text):
        offsets[index] = total
        total += 2 if ord(char) > 0xFFFF else 1
    offsets[len(text)] = total
    return offsets


@dataclass(frozen=True, slots=True)
class Entity:
    """One Bot API ``MessageEntity`` (the fields a renderer produces)."""

    type: str
    """``bold``, ``italic``, ``strikethrough``, ``code``, ``pre``, ``text_link``, ``blockquote``…"""
    offset: int
    """Start, in UTF-16 code units."""
    length: int
    """Length, in UTF-16 code units."""
    url: str | None = None
    """For ``text_link``."""
    language: str | None = None
    """For ``pre``: the code block's language, if it had one."""
    custom_emoji_id: str | None = None
    """For ``custom_emoji``."""

    @property
    def end(self) -> int:
        """Offset just past the entity, in UTF-16 code units."""
        return self.offset + self.length

    def moved(self, offset: int, length: int) -> Entity:
        """The same entity over another span."""
        return Entity(self.type, offset, length, self.url, self.language, self.custom_emoji_id)

    def to_bot_api(self) -> dict[str, Any]:
        """The JSON object the Bot API expects."""
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            data["url"] = self.url
        if self.language is not None:
            data["language"] = self.language
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        return data


def _sort_key(entity: Entity) -> tuple[int, int, str]:
    return (entity.offset, -entity.length, entity.type)


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Plain text and the entities that format it: one message's content."""

    text: str
    entities: tuple[Entity, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "entities", tuple(sorted(self.entities, key=_sort_key)))

    @property
    def utf16_length(self) -> int:
        return utf16_len(self.text)

    def covered(self, entity: Entity) -> str:
        """The text an entity covers."""
        units = self.text.encode("utf-16-le", "surrogatepass")
        part = units[entity.offset * 2 : entity.end * 2]
        return part.decode("utf-16-le", "surrogatepass")

    def to_bot_api(self) -> dict[str, Any]:
        """``text`` and (when there are any) ``entities`` for sendMessage / editMessageText."""
        data: dict[str, Any] = {"text": self.text}
        if self.entities:
            data["entities"] = [entity.to_bot_api() for entity in self.entities]
        return data
