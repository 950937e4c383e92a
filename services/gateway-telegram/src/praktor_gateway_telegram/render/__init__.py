"""Replies rendered for Telegram: Markdown to text + entities, split into messages.

Pure functions, no I/O:

* :func:`render_markdown`: an agent's Markdown as :class:`FormattedText`;
* :func:`split_message`: that text as messages within Telegram's limit;
* :func:`plain_fallback`: a message without entities, for when Telegram
  refuses them.
"""

from praktor_gateway_telegram.render.chunks import chunk_spans, split_message
from praktor_gateway_telegram.render.markdown import render_markdown
from praktor_gateway_telegram.render.plain import plain_fallback
from praktor_gateway_telegram.render.text import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    Entity,
    FormattedText,
    utf16_len,
)

__all__ = [
    "CAPTION_LIMIT",
    "MESSAGE_LIMIT",
    "Entity",
    "FormattedText",
    "chunk_spans",
    "plain_fallback",
    "render_markdown",
    "split_message",
    "utf16_len",
]
