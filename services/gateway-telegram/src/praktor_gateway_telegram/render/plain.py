"""A message without entities, for when Telegram refuses them.

The rendered text is already plain (no escapes), so dropping the entities
leaves it readable. Only links would lose something, so each link's URL is
written after its text, ``text (url)``, as long as the message stays within
the limit.
"""

from __future__ import annotations

from praktor_gateway_telegram.render.text import (
    MESSAGE_LIMIT,
    FormattedText,
    utf16_len,
    utf16_offsets,
)


def plain_fallback(message: FormattedText, limit: int = MESSAGE_LIMIT) -> FormattedText:
    """``message`` with no entities; link URLs shown after their text when they fit."""
    index_of = {unit: index for index, unit in enumerate(utf16_offsets(message.text))}
    budget = limit - message.utf16_length
    inserts: list[tuple[int, str]] = []
    for entity in message.entities:
        if entity.type != "text_link" or not entity.url:
            continue
        if message.covered(entity).strip() == entity.url:
            continue
        addition = f" ({entity.url})"
        cost = utf16_len(addition)
        if cost > budget or entity.end not in index_of:
            continue
        budget -= cost
        inserts.append((index_of[entity.end], addition))

    text = message.text
    for index, addition in sorted(inserts, reverse=True):
        text = text[:index] + addition + text[index:]
    return FormattedText(text)
