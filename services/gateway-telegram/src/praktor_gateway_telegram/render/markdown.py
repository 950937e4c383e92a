"""An agent's Markdown as a Telegram message: plain text plus entities (spec §11.12).

``telegramify-markdown`` walks the parse (pulldown-cmark, through
``pyromark``) and produces text with entities, so nothing needs MarkdownV2
escaping. Before its walker sees the parse, the events are adjusted so the
result looks the way the spec says replies look:

* every heading is a bold line (no underline, no emoji prefix);
* ``*x*`` is bold, like ``**x**``; ``_x_`` is italic;
* a line of dashes is a blank line, never a heading underline;
* a table is drawn in a code block with box-drawing rules;
* HTML, ``$…$`` and a single ``~`` are text, shown as written.

Afterwards, entities Telegram would refuse are dropped: links whose URL is
not absolute, quotes inside quotes, and duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pyromark
from telegramify_markdown.config import RenderConfig
from telegramify_markdown.converter import EventWalker
from telegramify_markdown.entity import MessageEntity

from praktor_gateway_telegram.render.tables import clean_cell, draw_table
from praktor_gateway_telegram.render.text import Entity, FormattedText, utf16_len

_OPTIONS = (
    pyromark.Options.ENABLE_TABLES
    | pyromark.Options.ENABLE_STRIKETHROUGH
    | pyromark.Options.ENABLE_TASKLISTS
)
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})
_LINK_SCHEMES = frozenset({"http", "https", "tg"})


def _config() -> RenderConfig:
    config = RenderConfig.isolated()
    symbols = config.markdown_symbol
    for level in range(1, 7):
        setattr(symbols, f"heading_level_{level}", "")
    symbols.image = ""
    symbols.horizontal_rule = ""
    symbols.unordered_list_item = "•"
    symbols.task_completed = "☑"
    symbols.task_uncompleted = "☐"
    config.cite_expandable = True
    return config


_CONFIG = _config()


def render_markdown(markdown: str) -> FormattedText:
    """An agent's Markdown as the text and entities of one (possibly long) message."""
    events = pyromark.events_with_range(markdown, options=_OPTIONS)
    walker = EventWalker(_CONFIG, markdown)
    text, entities, _segments = walker.walk(tuple(_adjust(markdown, events)))
    return _finish(text, entities)


# --- Event adjustments -------------------------------------------------------

_Range = Any
"""``{"start": int, "end": int}``: UTF-8 byte offsets into the source."""


def _adjust(markdown: str, events: Iterable[tuple[Any, _Range]]) -> Iterator[Any]:
    source = markdown.encode("utf-8")
    stars: list[bool] = []  # open emphasis: written with `*`?
    tildes: list[bool] = []  # open strikethrough: written with one `~`?
    setext_dashes = False  # the open heading is text over a line of dashes
    table: list[list[str]] | None = None
    table_range: _Range = None

    def written(where: _Range) -> str:
        return source[where["start"] : where["end"]].decode("utf-8", "replace")

    for payload, where in events:
        if table is not None:
            if payload == {"End": "Table"}:
                yield from _code_block(draw_table(table), table_range)
                table = None
            elif payload in ({"Start": "TableHead"}, {"Start": "TableRow"}):
                table.append([])
            elif payload == {"Start": "TableCell"}:
                if not table:  # a header without TableHead (not emitted today)
                    table.append([])
                table[-1].append(clean_cell(written(where)))
            continue

        match payload:
            case {"Start": {"Table": _}}:
                table, table_range = [], where
            case {"Start": {"Heading": heading}}:
                setext_dashes = _is_setext_dashes(written(where))
                if setext_dashes:
                    yield ({"Start": "Paragraph"}, where)
                else:
                    yield ({"Start": {"Heading": {**heading, "level": "H3"}}}, where)
            case {"End": {"Heading": _}}:
                if setext_dashes:
                    yield ({"End": "Paragraph"}, where)
                    yield "Rule"
                else:
                    yield ({"End": {"Heading": "H3"}}, where)
                setext_dashes = False
            case "Rule":
                # Bare, without its range: the walker then sets it apart with a blank line.
                yield "Rule"
            case {"Start": "Emphasis"}:
                stars.append(source[where["start"] : where["start"] + 1] == b"*")
                yield ({"Start": "Strong" if stars[-1] else "Emphasis"}, where)
            case {"End": "Emphasis"}:
                star = stars.pop() if stars else False
                yield ({"End": "Strong" if star else "Emphasis"}, where)
            case {"Start": "Strikethrough"}:
                tildes.append(source[where["start"] + 1 : where["start"] + 2] != b"~")
                yield ({"Text": "~"} if tildes[-1] else payload, where)
            case {"End": "Strikethrough"}:
                single = tildes.pop() if tildes else False
                yield ({"Text": "~"} if single else payload, where)
            case {"InlineHtml": html}:
                yield ({"Text": html}, where)
            case {"Start": "HtmlBlock"}:
                yield ({"Start": "Paragraph"}, where)
            case {"End": "HtmlBlock"}:
                yield ({"End": "Paragraph"}, where)
            case {"Html": html}:
                yield ({"Text": html}, where)
            case _:
                yield (payload, where)


def _is_setext_dashes(written: str) -> bool:
    """A heading written as a line of text over a line of dashes."""
    written = written.rstrip()
    return not written.lstrip().startswith("#") and written.endswith("-")


def _code_block(code: str, where: _Range) -> Iterator[Any]:
    yield ({"Start": {"CodeBlock": {"Fenced": ""}}}, where)
    yield ({"Text": code + "\n"}, where)
    yield ({"End": "CodeBlock"}, where)


# --- Clean-up of the walker's output ----------------------------------------


def _finish(text: str, entities: Iterable[MessageEntity]) -> FormattedText:
    body = text.strip()
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(body)
    kept: set[Entity] = set()
    for found in entities:
        start = max(found.offset - lead, 0)
        end = min(found.offset + found.length - lead, total)
        if end <= start:
            continue
        if found.type == "text_link" and not _linkable(found.url):
            continue
        kept.add(
            Entity(
                found.type,
                start,
                end - start,
                url=found.url,
                language=found.language,
                custom_emoji_id=found.custom_emoji_id,
            )
        )
    return FormattedText(body, tuple(_outer_quotes_only(kept)))


def _linkable(url: str | None) -> bool:
    """Whether Telegram takes ``url`` for a text link: absolute http(s) or tg."""
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme not in _LINK_SCHEMES:
        return False
    return parts.scheme == "tg" or bool(parts.netloc)


def _outer_quotes_only(entities: set[Entity]) -> Iterator[Entity]:
    """Drop quotes inside other quotes: Telegram does not nest them."""
    quotes = sorted((e for e in entities if e.type in _QUOTES), key=lambda e: (e.offset, -e.length))
    outer: list[Entity] = []
    for quote in quotes:
        if outer and quote.end <= outer[-1].end:
            continue
        outer.append(quote)
    yield from outer
    yield from (e for e in entities if e.type not in _QUOTES)
