"""A local fake of the Telegram Bot API, for tests and end-to-end runs.

An aiohttp server speaking the real JSON shapes at ``/bot{token}/{method}``
(JSON, url-encoded or multipart requests, ``{"ok": …, "result": …}``
answers, real error codes and descriptions) and serving downloads at
``/file/bot{token}/{path}``. Any Bot API client pointed at its base URL works;
with aiogram 3::

    async with FakeTelegram() as fake:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(fake.token, session=session)
        fake.push_text(chat_id=42, text="hello")
        updates = await bot.get_updates(timeout=1)

Methods: getMe, getUpdates (long polling: ``offset`` confirms, ``timeout``
waits, ``allowed_updates`` filters and persists, a second poller makes the
first fail with 409), sendMessage (``entities`` or ``parse_mode`` MarkdownV2
/ HTML / Markdown), editMessageText, deleteMessage, sendMessageDraft
(private chats), sendChatAction, sendDocument / sendPhoto / sendVoice
(multipart upload, ``attach://`` or a known ``file_id``), getFile and the
file download, setMyCommands / getMyCommands / deleteMyCommands,
deleteWebhook / getWebhookInfo. Any other method answers 404 Not Found, as
Telegram does for an unknown method.

Telegram's limits are enforced: 4096 UTF-16 units per message text, 1024 per
caption, 20 MB per getFile, and flood control (per chat, per group per
minute, per bot per second: see :class:`RateLimits`) answered with 429 and
``parameters.retry_after``. Entities sent as JSON are checked a little more
strictly than Telegram does (it silently repairs some): a bad one is a 400
whose description starts with Telegram's ``Bad Request: can't parse
entities:``.

Files live in a temporary directory. By default getFile answers a relative
``file_path`` to download over HTTP, as the cloud Bot API does (aiogram:
``is_local=False``). With ``local_mode=True`` it answers an absolute path on
disk, as a local Bot API server does (aiogram: ``is_local=True`` reads it
directly).

Tests drive it from Python: ``push_text`` / ``push_photo`` / ``push_album``
… queue real-shaped updates, ``sent_messages(chat_id)`` is what the bot has
in a chat with edits applied, ``inject_429`` / ``inject_error`` make the next
calls fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import itertools
import json
import math
import mimetypes
import re
import shutil
import struct
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import pytest_asyncio
from aiohttp import web
from aiohttp.web_request import FileField

# --- Limits and descriptions ------------------------------------------------

DEFAULT_TOKEN = "123456789:TEST-fake-telegram-token"  # noqa: S105 - a fake's token
"""The fake bot's token (its id is the part before the colon)."""

MESSAGE_LIMIT = 4096
"""UTF-16 units in a message text."""
CAPTION_LIMIT = 1024
"""UTF-16 units in a caption."""
DOWNLOAD_LIMIT = 20 * 1024 * 1024
"""Largest file getFile hands out."""
UPLOAD_LIMIT = 50 * 1024 * 1024
"""Largest file a bot may upload."""

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request;"
    " make sure that only one bot instance is running"
)
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "inline_query", "chosen_inline_result",
        "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
        "poll", "poll_answer", "my_chat_member", "chat_join_request", "chat_boost",
        "removed_chat_boost", "stopped_message_generation",
    }
)  # fmt: skip
"""What Telegram sends when ``allowed_updates`` is empty: all but chat_member and reactions."""

CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
ENTITY_TYPES = frozenset(
    {
        "mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number",
        "bold", "italic", "underline", "strikethrough", "spoiler", "blockquote",
        "expandable_blockquote", "code", "pre", "text_link", "text_mention",
        "custom_emoji", "date_time",
    }
)  # fmt: skip
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")

ChatType = Literal["private", "group", "supergroup", "channel"]


class BotApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": …, "description": …}``."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(what: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {what}")


def too_many_requests(retry_after: int) -> BotApiError:
    """Telegram's flood-control answer."""
    return BotApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


# --- UTF-16 and entities ----------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class EntityParseError(ValueError):
    """Text that Telegram cannot parse in a ``parse_mode``, or entities it refuses."""

    @property
    def description(self) -> str:
        return f"Bad Request: can't parse entities: {self.args[0]}"


def check_entities(text: str, entities: Any) -> list[dict[str, Any]]:
    """Entities as given in JSON, checked against ``text``; raise :class:`EntityParseError`."""
    if entities is None:
        return []
    if not isinstance(entities, list):
        raise EntityParseError("entities must be an array of MessageEntity")
    units = text.encode("utf-16-le", "surrogatepass")
    total = len(units) // 2
    checked = []
    for index, entity in enumerate(entities):
        if not isinstance(entity, dict):
            raise EntityParseError(f"entity {index} is not an object")
        kind, offset, length = entity.get("type"), entity.get("offset"), entity.get("length")
        if kind not in ENTITY_TYPES:
            raise EntityParseError(f"unsupported entity type {kind!r}")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise EntityParseError(f"entity {index} needs an integer offset and length")
        if offset < 0 or length <= 0 or offset + length > total:
            raise EntityParseError(
                f"entity {index} ({kind} at {offset}, length {length}) is outside"
                f" the text of length {total}"
            )
        for edge in (offset, offset + length):
            if 0 < edge < total and 0xDC00 <= _unit(units, edge) <= 0xDFFF:
                raise EntityParseError(f"entity {index} boundary splits a character")
        if kind == "text_link" and not _is_url(entity.get("url")):
            raise EntityParseError(f"entity {index}: wrong HTTP URL {entity.get('url')!r}")
        if kind == "custom_emoji" and not entity.get("custom_emoji_id"):
            raise EntityParseError(f"entity {index}: custom_emoji_id is empty")
        checked.append(dict(entity))
    return checked


def _unit(units: bytes, index: int) -> int:
    value: int = struct.unpack_from("<H", units, index * 2)[0]
    return value


def _is_url(url: object) -> bool:
    return isinstance(url, str) and re.match(r"^(https?://[^\s/]+|tg://)\S*$", url) is not None


class _Builder:
    """Plain text under construction, with its length in UTF-16 units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.position = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.position += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _entity(kind: str, start: int, end: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "offset": start, "length": end - start, **extra}


def _not_empty(entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = [e for e in entities if e["length"] > 0]
    return sorted(kept, key=lambda e: (e["offset"], -e["length"]))


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough"}


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    """``parse_mode=MarkdownV2`` as Telegram reads it: the text and its entities."""
    return _MarkdownV2(source).parse()


class _MarkdownV2:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out = _Builder()
        self.entities: list[dict[str, Any]] = []
        self.open: list[tuple[str, int, int]] = []  # kind, start, source index
        self.quote: tuple[int, bool] | None = None  # start, expandable
        self.line_end = 0  # position before the last line break

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def unclosed(self, index: int) -> EntityParseError:
        return EntityParseError(
            f"Can't find end of the entity starting at byte offset {self.byte_offset(index)}"
        )

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        source, i = self.source, 0
        line_start = True
        while i < len(source):
            if line_start:
                line_start = False
                i = self.start_line(i)
                if i >= len(source):
                    break
            char = source[i]
            if char == "\\" and i + 1 < len(source) and 0 < ord(source[i + 1]) < 127:
                self.out.add(source[i + 1])
                i += 2
            elif char == "\n":
                self.line_end = self.out.position
                self.out.add("\n")
                line_start = True
                i += 1
            elif char == "`":
                i = self.code(i)
            elif source.startswith("||", i):
                if self.quote is not None and self.quote[1] and _line_ends(source, i + 2):
                    i += 2  # the expandable quote's closing mark
                else:
                    self.toggle("spoiler", i)
                    i += 2
            elif source.startswith("__", i):
                self.toggle("underline", i)
                i += 2
            elif char in _MDV2_MARKERS:
                self.toggle(_MDV2_MARKERS[char], i)
                i += 1
            elif char == "[" or source.startswith("![", i):
                emoji = char == "!"
                self.open.append(("custom_emoji" if emoji else "text_link", self.out.position, i))
                i += 2 if emoji else 1
            elif char == "]" and self.open and self.open[-1][0] in ("text_link", "custom_emoji"):
                i = self.link_end(i)
            elif char in _MDV2_RESERVED:
                raise EntityParseError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            else:
                self.out.add(char)
                i += 1
        if self.open:
            raise self.unclosed(self.open[-1][2])
        self.close_quote(self.out.position)
        return self.out.text(), _not_empty(self.entities)

    def start_line(self, i: int) -> int:
        expandable = self.source.startswith("**>", i)
        if expandable or self.source.startswith(">", i):
            if self.quote is None:
                self.quote = (self.out.position, expandable)
            return i + (3 if expandable else 1)
        self.close_quote(self.line_end)
        return i

    def close_quote(self, end: int) -> None:
        if self.quote is not None:
            start, expandable = self.quote
            kind = "expandable_blockquote" if expandable else "blockquote"
            self.entities.append(_entity(kind, start, end))
            self.quote = None

    def toggle(self, kind: str, i: int) -> None:
        if self.open and self.open[-1][0] == kind:
            _, start, _ = self.open.pop()
            self.entities.append(_entity(kind, start, self.out.position))
        elif any(open_kind == kind for open_kind, _, _ in self.open):
            raise self.unclosed(next(s for k, _, s in reversed(self.open) if k != kind))
        else:
            self.open.append((kind, self.out.position, i))

    def code(self, i: int) -> int:
        fence = "```" if self.source.startswith("```", i) else "`"
        body_start = i + len(fence)
        j, body = body_start, []
        while True:
            if j >= len(self.source):
                raise self.unclosed(i)
            if self.source[j] == "\\" and j + 1 < len(self.source):
                body.append(self.source[j + 1])
                j += 2
            elif self.source.startswith(fence, j):
                break
            else:
                body.append(self.source[j])
                j += 1
        content = "".join(body)
        start = self.out.position
        if fence == "`":
            self.out.add(content)
            self.entities.append(_entity("code", start, self.out.position))
            return j + 1
        language = None
        first_line, newline, rest = content.partition("\n")
        if newline and first_line and not any(c.isspace() for c in first_line):
            language, content = first_line, rest
        elif content.startswith("\n"):
            content = content[1:]
        content = content.removesuffix("\n")
        self.out.add(content)
        extra = {"language": language} if language else {}
        self.entities.append(_entity("pre", start, self.out.position, **extra))
        return j + 3

    def link_end(self, i: int) -> int:
        kind, start, opened_at = self.open.pop()
        if not self.source.startswith("(", i + 1):
            raise self.unclosed(opened_at)
        j, url = i + 2, []
        while j < len(self.source) and self.source[j] != ")":
            if self.source[j] == "\\" and j + 1 < len(self.source):
                j += 1
            url.append(self.source[j])
            j += 1
        if j >= len(self.source):
            raise self.unclosed(opened_at)
        target = "".join(url)
        if kind == "custom_emoji":
            emoji_id = target.removeprefix("tg://emoji?id=")
            self.entities.append(_entity(kind, start, self.out.position, custom_emoji_id=emoji_id))
        else:
            self.entities.append(_entity(kind, start, self.out.position, url=target))
        return j + 1


def _line_ends(source: str, index: int) -> bool:
    return index >= len(source) or source[index] == "\n"


_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "a": "text_link", "blockquote": "blockquote", "tg-emoji": "custom_emoji", "span": "spoiler",
}  # fmt: skip


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """``parse_mode=HTML`` as Telegram reads it: the text and its entities."""
    parser = _Html()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.open[-1][0]}"'
        )
    return parser.out.text(), _not_empty(parser.entities)


class _Html(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _Builder()
        self.entities: list[dict[str, Any]] = []
        self.open: list[tuple[str, int, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag not in _HTML_TAGS or (tag == "span" and values.get("class") != "tg-spoiler"):
            raise EntityParseError(f'Unsupported start tag "{tag}"')
        self.open.append((tag, self.out.position, values))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise EntityParseError(f'Unmatched end tag "{tag}"')
        _, start, values = self.open.pop()
        kind, extra = _HTML_TAGS[tag], dict[str, Any]()
        if tag == "a":
            extra["url"] = values.get("href") or ""
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = values.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in values:
            kind = "expandable_blockquote"
        elif tag == "code" and self.open and self.open[-1][0] == "pre":
            code_class = (values.get("class") or "").removeprefix("language-")
            if code_class:
                self.open[-1][2]["language"] = code_class
            return
        elif tag == "pre" and (language := values.get("language")):
            extra["language"] = language
        self.entities.append(_entity(kind, start, self.out.position, **extra))

    def handle_data(self, data: str) -> None:
        self.out.add(data)


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``parse_mode=Markdown``: ``*bold*``, ``_italic_``, code, pre, links."""
    out, entities, i = _Builder(), [], 0
    pairs = {"*": "bold", "_": "italic"}
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        fence = "```" if source.startswith("```", i) else char
        if char in pairs or char == "`":
            end = source.find(fence, i + len(fence))
            if end < 0:
                offset = len(source[:i].encode("utf-8"))
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            body, start = source[i + len(fence) : end], out.position
            extra: dict[str, Any] = {}
            if fence == "```":
                first, newline, rest = body.partition("\n")
                if newline and first and " " not in first:
                    extra["language"], body = first, rest
            out.add(body)
            kind = "pre" if fence == "```" else pairs.get(char, "code")
            entities.append(_entity(kind, start, out.position, **extra))
            i = end + len(fence)
        elif char == "[" and (match := re.match(r"\[([^\]]*)\]\(([^)]*)\)", source[i:])):
            start = out.position
            out.add(match.group(1))
            entities.append(_entity("text_link", start, out.position, url=match.group(2)))
            i += match.end()
        else:
            out.add(char)
            i += 1
    return out.text(), _not_empty(entities)


_PARSERS: dict[str, Callable[[str], tuple[str, list[dict[str, Any]]]]] = {
    "markdownv2": parse_markdown_v2,
    "html": parse_html,
    "markdown": parse_markdown,
}


# --- Flood control ----------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``count`` messages per ``seconds``, with bursts of up to ``burst``."""

    count: float
    seconds: float
    burst: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood control for sending and editing messages.

    Telegram documents ~1 message per second in one chat, 20 per minute in
    one group, ~30 per second overall, and answers excess with 429 and
    ``retry_after``. Short bursts pass in practice; ``burst`` says how many.
    """

    per_chat: Rate | None = Rate(1, 1.0, 3)
    per_group: Rate | None = Rate(20, 60.0, 20)
    per_bot: Rate | None = Rate(30, 1.0, 30)
    methods: frozenset[str] = frozenset(
        {"sendmessage", "editmessagetext", "sendphoto", "senddocument", "sendvoice"}
    )
    """Methods that count (lower case)."""

    @classmethod
    def off(cls) -> RateLimits:
        return cls(per_chat=None, per_group=None, per_bot=None)


class _Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one more message may pass (0: now)."""
        self.tokens = min(
            self.rate.burst, self.tokens + (now - self.updated) * self.rate.per_second
        )
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate.per_second

    def take(self) -> None:
        self.tokens -= 1


# --- What the fake records ----------------------------------------------------


@dataclass(frozen=True)
class ApiCall:
    """One request the fake received."""

    method: str
    """As called (Telegram ignores the case)."""
    params: dict[str, Any]
    """Parameters, JSON-decoded where Telegram expects JSON."""
    files: dict[str, bytes]
    """Uploaded files by form field."""


@dataclass(frozen=True)
class SentMessage:
    """A message the bot has in a chat, as it looks now (edits applied)."""

    chat_id: int
    message_id: int
    kind: Literal["text", "photo", "document", "voice"]
    text: str
    """The text, or the caption of a file ("" when none)."""
    entities: tuple[dict[str, Any], ...]
    """``entities`` (or ``caption_entities``): parsed from ``parse_mode`` if it was used."""
    edits: tuple[str, ...]
    """Earlier texts, oldest first."""
    reply_to_message_id: int | None
    file: bytes | None
    file_name: str | None
    raw: dict[str, Any]
    """The Bot API ``Message`` object."""

    @property
    def edited(self) -> bool:
        return bool(self.edits)


@dataclass(frozen=True)
class Draft:
    """One ``sendMessageDraft`` call."""

    chat_id: int
    draft_id: int
    text: str
    entities: tuple[dict[str, Any], ...]


@dataclass
class _File:
    file_id: str
    file_unique_id: str
    path: str
    """Relative, as the cloud API's ``file_path``."""
    disk: Path
    size: int


@dataclass
class _Stored:
    message: dict[str, Any]
    edits: list[str] = field(default_factory=list)
    data: bytes | None = None


@dataclass(frozen=True)
class _Upload:
    name: str
    content_type: str
    data: bytes


class _Params:
    """Request parameters, from the query string and a JSON, url-encoded or multipart body."""

    _JSON = frozenset(
        {
            "entities", "caption_entities", "allowed_updates", "commands", "scope",
            "reply_parameters", "reply_markup", "link_preview_options",
        }
    )  # fmt: skip

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, _Upload]) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads)
        for name in self._JSON & self.values.keys():
            if isinstance(self.values[name], str):
                try:
                    self.values[name] = json.loads(self.values[name])
                except json.JSONDecodeError as error:
                    raise _bad_request(f"can't parse {name} JSON object") from error

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad_request(f"{name} is empty")
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as error:
            raise _bad_request(f"invalid {name} specified") from error

    def required(self, name: str) -> int:
        value = self.integer(name, required=True)
        assert value is not None
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or str(value).lower() in ("true", "1")

    def upload(self, name: str) -> _Upload | str:
        """An uploaded file (a part named ``name`` or ``attach://…``), or a ``file_id``."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name)
        if not value:
            raise _bad_request(f"there is no {name} in the request")
        if value.startswith("attach://"):
            attached = self.uploads.get(value.removeprefix("attach://"))
            if attached is None:
                raise _bad_request(f"file {value} not found in the request")
            return attached
        return value


async def _read_params(request: web.Request) -> _Params:
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, _Upload] = {}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            values.update(body)
    elif request.body_exists:
        for name, value in (await request.post()).items():
            if isinstance(value, FileField):
                uploads[name] = _Upload(value.filename, value.content_type, value.file.read())
            else:
                values[name] = value
    return _Params(values, uploads)


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF or WebP; None when it is not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            size = struct.unpack(">H", data[index + 2 : index + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + size
        return 512, 512
    return None


# --- The fake ----------------------------------------------------------------

_Handler = Callable[["FakeTelegram", _Params], Awaitable[Any]]


class FakeTelegram:
    """The Bot API for one bot, on a local port. See the module docstring."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "praktor_test_bot",
        first_name: str = "Praktor",
        local_mode: bool = False,
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.local_mode = local_mode
        self.rate_limits = rate_limits if rate_limits is not None else RateLimits()
        self.clock = clock
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[ApiCall] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, _Stored]] = {}
        self._next_message_id: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poller = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._files: dict[str, _File] = {}
        self._file_numbers = itertools.count(1)
        self._media_groups = itertools.count(13_000_000_000_000_001)
        self._files_dir: Path | None = None
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._actions: dict[int, list[str]] = {}
        self._drafts: list[Draft] = []
        self._injected: dict[str, deque[BotApiError]] = {}
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle -----------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (a free port by default); return the base URL."""
        self._files_dir = Path(tempfile.mkdtemp(prefix="fake-telegram-"))
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        """Answer waiting long polls, stop serving, remove the stored files."""
        self._closing = True
        self._signal()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._files_dir is not None:
            shutil.rmtree(self._files_dir, ignore_errors=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test controls: chats and updates ------------------------------------

    def add_chat(
        self,
        chat_id: int,
        *,
        type: ChatType | None = None,
        title: str | None = None,
        first_name: str = "Tester",
        username: str | None = None,
    ) -> dict[str, Any]:
        """Make a chat known (pushing an update to it does this too); return its ``Chat``."""
        if chat_id in self._chats:
            return self._chats[chat_id]
        kind = type or _chat_type(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = first_name
            if username:
                chat["username"] = username
        else:
            chat["title"] = title or f"Chat {chat_id}"
        self._chats[chat_id] = chat
        return chat

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update as given (an ``update_id`` is added when missing)."""
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._signal()
        return update

    def push_message(
        self,
        chat_id: int,
        content: Mapping[str, Any],
        *,
        user_id: int | None = None,
        reply_to: int | None = None,
        chat_type: ChatType | None = None,
        update_type: str = "message",
    ) -> dict[str, Any]:
        """Queue a message from a person with the given content fields; return the update."""
        chat = self.add_chat(chat_id, type=chat_type)
        message = self._new_message(chat, dict(content))
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            sender = user_id if user_id is not None else _default_user(chat_id)
            message["from"] = _user(sender, chat)
        if reply_to is not None:
            message["reply_to_message"] = self._stored(chat_id, reply_to).message
        self._store(message)
        return self.push_update({update_type: message})

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        reply_to: int | None = None,
        entities: Sequence[Mapping[str, Any]] | None = None,
        chat_type: ChatType | None = None,
    ) -> dict[str, Any]:
        """A text message; a leading ``/command`` gets its ``bot_command`` entity."""
        found = [dict(e) for e in entities or ()]
        if command := re.match(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text):
            found.insert(0, _entity("bot_command", 0, utf16_len(command.group())))
        content: dict[str, Any] = {"text": text}
        if found:
            content["entities"] = found
        return self.push_message(
            chat_id, content, user_id=user_id, reply_to=reply_to, chat_type=chat_type
        )

    def push_photo(
        self,
        chat_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        user_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A photo (sizes as Telegram makes them: a thumbnail, then the largest last)."""
        content = {"photo": self._photo_sizes(data), **_caption(caption)}
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self.push_message(chat_id, content, user_id=user_id, reply_to=reply_to)

    def push_document(
        self,
        chat_id: int,
        data: bytes,
        *,
        file_name: str | None = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        media_group_id: str | None = None,
        user_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A document; ``mime_type`` is guessed from the name when not given."""
        document = self._file_object(data, "documents", file_name or "file")
        if file_name is not None:
            document["file_name"] = file_name
            mime_type = mime_type or mimetypes.guess_type(file_name)[0]
        if mime_type:
            document["mime_type"] = mime_type
        content = {"document": document, **_caption(caption)}
        if media_group_id:
            content["media_group_id"] = media_group_id
        return self.push_message(chat_id, content, user_id=user_id, reply_to=reply_to)

    def push_voice(
        self,
        chat_id: int,
        data: bytes,
        *,
        duration: int = 1,
        mime_type: str = "audio/ogg",
        caption: str | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """A voice note."""
        voice = self._file_object(data, "voice", "voice.oga")
        voice.update(duration=duration, mime_type=mime_type)
        return self.push_message(chat_id, {"voice": voice, **_caption(caption)}, user_id=user_id)

    def push_album(
        self,
        chat_id: int,
        items: Sequence[tuple[Literal["photo", "document"], bytes]],
        *,
        caption: str | None = None,
        user_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """An album: one update per item, one ``media_group_id``, the caption on the first."""
        group = str(next(self._media_groups))
        updates = []
        for index, (kind, data) in enumerate(items):
            text = caption if index == 0 else None
            if kind == "photo":
                updates.append(
                    self.push_photo(
                        chat_id, data, caption=text, media_group_id=group, user_id=user_id
                    )
                )
            else:
                updates.append(
                    self.push_document(
                        chat_id,
                        data,
                        file_name=f"file{index + 1}.bin",
                        caption=text,
                        media_group_id=group,
                        user_id=user_id,
                    )
                )
        return updates

    def push_channel_post(
        self, chat_id: int, text: str, *, title: str = "Channel"
    ) -> dict[str, Any]:
        """A post in a channel: ``channel_post``, ``sender_chat``, no ``from``."""
        self.add_chat(chat_id, type="channel", title=title)
        return self.push_message(chat_id, {"text": text}, update_type="channel_post")

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    # -- test controls: what the bot did -------------------------------------

    def sent_messages(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, as they look now (deleted ones gone)."""
        bot_id = self.bot_user["id"]
        return [
            _snapshot(chat_id, stored)
            for stored in self._messages.get(chat_id, {}).values()
            if stored.message.get("from", {}).get("id") == bot_id
        ]

    def chat_actions(self, chat_id: int) -> list[str]:
        """The chat actions sent to a chat, in order."""
        return list(self._actions.get(chat_id, []))

    def drafts(self, chat_id: int) -> list[Draft]:
        """The drafts streamed to a chat, in order."""
        return [draft for draft in self._drafts if draft.chat_id == chat_id]

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """The bot's command menu for a scope (default scope when None)."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    def calls_to(self, method: str) -> list[ApiCall]:
        """The requests made to one method (any case)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].disk.read_bytes()

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until the bot has at least ``count`` messages in the chat; return them."""
        async with asyncio.timeout(timeout):
            while len(messages := self.sent_messages(chat_id)) < count:
                await self._changed.wait()
        return messages

    # -- test controls: failures ---------------------------------------------

    def inject_429(self, method: str, retry_after: int, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with flood control."""
        for _ in range(times):
            self._injected.setdefault(method.lower(), deque()).append(
                too_many_requests(retry_after)
            )

    def inject_error(self, method: str, error_code: int, description: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error."""
        for _ in range(times):
            self._injected.setdefault(method.lower(), deque()).append(
                BotApiError(error_code, description)
            )

    # -- HTTP ------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _answer(BotApiError(401, "Unauthorized").to_json(), 401)
        method = request.match_info["method"]
        handler = _METHODS.get(method.lower())
        if handler is None:
            return _answer(BotApiError(404, "Not Found").to_json(), 404)
        try:
            params = await _read_params(request)
            self.calls.append(
                ApiCall(
                    method,
                    params.values,
                    {name: upload.data for name, upload in params.uploads.items()},
                )
            )
            injected = self._injected.get(method.lower())
            if injected:
                raise injected.popleft()
            result = await handler(self, params)
        except BotApiError as error:
            return _answer(error.to_json(), error.error_code)
        except EntityParseError as error:
            return _answer(BotApiError(400, error.description).to_json(), 400)
        except Exception as error:  # a bug in the fake: say so in the Bot API's shape
            description = f"Internal Server Error: {type(error).__name__}: {error}"
            return _answer(BotApiError(500, description).to_json(), 500)
        return _answer({"ok": True, "result": result}, 200)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _answer(BotApiError(401, "Unauthorized").to_json(), 401)
        path = request.match_info["path"]
        for stored in self._files.values():
            if path in (stored.path, str(stored.disk)):
                return web.Response(body=stored.disk.read_bytes())
        return _answer(BotApiError(404, "Not Found").to_json(), 404)

    # -- methods ---------------------------------------------------------------

    async def get_me(self, params: _Params) -> dict[str, Any]:
        return self.bot_user

    async def get_updates(self, params: _Params) -> list[dict[str, Any]]:
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.integer("timeout") or 0, 0)
        allowed = params.values.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poller += 1
        poller = self._poller
        self._signal()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._updates = [u for u in self._updates if _update_type(u) in self._allowed_updates]
            if poller != self._poller:
                raise BotApiError(409, CONFLICT)
            remaining = deadline - asyncio.get_running_loop().time()
            if self._updates or remaining <= 0 or self._closing:
                return self._updates[:limit]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def send_message(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        text, entities = _formatted(params, "text", "entities")
        if not text.strip():
            raise _bad_request("message text is empty")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise _bad_request("message is too long")
        reply = self._reply_to(chat["id"], params)
        self._flood_control("sendmessage", chat)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(chat, content, reply)

    async def edit_message_text(self, params: _Params) -> dict[str, Any]:
        if params.text("inline_message_id"):
            raise _bad_request("inline messages are not supported by the fake")
        chat = self._chat(params)
        message_id = params.required("message_id")
        stored = self._messages.get(chat["id"], {}).get(message_id)
        if stored is None:
            raise _bad_request("message to edit not found")
        message = stored.message
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad_request("message can't be edited")
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text, entities = _formatted(params, "text", "entities")
        if not text.strip():
            raise _bad_request("message text is empty")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise _bad_request("message is too long")
        if text == message["text"] and entities == message.get("entities", []):
            raise BotApiError(400, NOT_MODIFIED)
        self._flood_control("editmessagetext", chat)
        stored.edits.append(message["text"])
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message["edit_date"] = int(time.time())
        return message

    async def delete_message(self, params: _Params) -> bool:
        chat = self._chat(params)
        message_id = params.required("message_id")
        if self._messages.get(chat["id"], {}).pop(message_id, None) is None:
            raise _bad_request("message to delete not found")
        return True

    async def send_chat_action(self, params: _Params) -> bool:
        chat = self._chat(params)
        action = params.text("action")
        if action not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._actions.setdefault(chat["id"], []).append(action)
        return True

    async def send_message_draft(self, params: _Params) -> bool:
        chat = self._chat(params)
        if chat["type"] != "private":
            raise _bad_request("message drafts can be sent only to private chats")
        draft_id = params.required("draft_id")
        if draft_id == 0:
            raise _bad_request("draft_id must be non-zero")
        text, entities = _formatted(params, "text", "entities")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise _bad_request("message is too long")
        self._drafts.append(Draft(chat["id"], draft_id, text, tuple(entities)))
        return True

    async def send_document(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        source = params.upload("document")
        if isinstance(source, str):
            document = self._known_file(source, "document")
        else:
            document = self._file_object(source.data, "documents", source.name)
            document["file_name"] = source.name
            document["mime_type"] = _mime(source)
        return await self._send_file(chat, params, {"document": document})

    async def send_photo(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        source = params.upload("photo")
        if isinstance(source, str):
            sizes = [self._known_file(source, "photo")]
        else:
            if _image_size(source.data) is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            sizes = self._photo_sizes(source.data)
        return await self._send_file(chat, params, {"photo": sizes})

    async def send_voice(self, params: _Params) -> dict[str, Any]:
        chat = self._chat(params)
        source = params.upload("voice")
        if isinstance(source, str):
            voice = self._known_file(source, "voice")
        else:
            voice = self._file_object(source.data, "voice", source.name)
            voice["mime_type"] = _mime(source)
        voice.setdefault("duration", params.integer("duration") or 1)
        return await self._send_file(chat, params, {"voice": voice})

    async def get_file(self, params: _Params) -> dict[str, Any]:
        file_id = params.text("file_id") or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": str(stored.disk) if self.local_mode else stored.path,
        }

    async def set_my_commands(self, params: _Params) -> bool:
        commands = params.values.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be an array of at most 100 BotCommand")
        checked = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND.match(name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            checked.append({"command": name, "description": description})
        key = (_scope_key(params.values.get("scope")), params.text("language_code") or "")
        self._commands[key] = checked
        return True

    async def get_my_commands(self, params: _Params) -> list[dict[str, str]]:
        return self.commands(params.values.get("scope"), params.text("language_code") or "")

    async def delete_my_commands(self, params: _Params) -> bool:
        key = (_scope_key(params.values.get("scope")), params.text("language_code") or "")
        self._commands.pop(key, None)
        return True

    async def delete_webhook(self, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    async def get_webhook_info(self, params: _Params) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    # -- helpers ---------------------------------------------------------------

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _chat(self, params: _Params) -> dict[str, Any]:
        raw = params.text("chat_id")
        if not raw:
            raise _bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except ValueError as error:
            raise _bad_request("chat not found") from error
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    def _stored(self, chat_id: int, message_id: int) -> _Stored:
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return stored

    def _reply_to(self, chat_id: int, params: _Params) -> dict[str, Any] | None:
        reply = params.values.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.integer("reply_to_message_id")
            allow = params.flag("allow_sending_without_reply")
        if message_id is None:
            return None
        stored = self._messages.get(chat_id, {}).get(int(message_id))
        if stored is None:
            if allow:
                return None
            raise _bad_request("message to be replied not found")
        return stored.message

    def _flood_control(self, method: str, chat: Mapping[str, Any]) -> None:
        limits = self.rate_limits
        if method not in limits.methods:
            return
        now = self.clock()
        keys: list[tuple[tuple[str, int], Rate]] = []
        if limits.per_chat is not None:
            keys.append((("chat", chat["id"]), limits.per_chat))
        if limits.per_group is not None and chat["type"] in ("group", "supergroup"):
            keys.append((("group", chat["id"]), limits.per_group))
        if limits.per_bot is not None:
            keys.append((("bot", 0), limits.per_bot))
        buckets = [self._buckets.setdefault(key, _Bucket(rate, now)) for key, rate in keys]
        wait = max((bucket.wait(now) for bucket in buckets), default=0.0)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for bucket in buckets:
            bucket.take()

    def _new_message(self, chat: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat["id"]
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return {"message_id": message_id, "date": int(time.time()), "chat": chat, **content}

    def _store(self, message: dict[str, Any], data: bytes | None = None) -> None:
        chat_id = message["chat"]["id"]
        self._messages.setdefault(chat_id, {})[message["message_id"]] = _Stored(message, data=data)
        self._signal()

    def _bot_message(
        self,
        chat: dict[str, Any],
        content: dict[str, Any],
        reply: dict[str, Any] | None,
        data: bytes | None = None,
    ) -> dict[str, Any]:
        message = self._new_message(chat, {"from": self._bot_as_sender(), **content})
        if reply is not None:
            message["reply_to_message"] = reply
        self._store(message, data)
        return message

    def _bot_as_sender(self) -> dict[str, Any]:
        return {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}

    async def _send_file(
        self, chat: dict[str, Any], params: _Params, content: dict[str, Any]
    ) -> dict[str, Any]:
        caption, entities = _formatted(params, "caption", "caption_entities")
        if utf16_len(caption) > CAPTION_LIMIT:
            raise _bad_request("message caption is too long")
        reply = self._reply_to(chat["id"], params)
        method = "send" + next(iter(content))
        self._flood_control(method, chat)
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        kind = next(iter(content))
        described = content[kind][-1] if kind == "photo" else content[kind]
        data = self.file_bytes(described["file_id"])
        return self._bot_message(chat, content, reply, data)

    def _file_object(self, data: bytes, folder: str, name: str) -> dict[str, Any]:
        if len(data) > UPLOAD_LIMIT:
            raise BotApiError(413, "Request Entity Too Large")
        number = next(self._file_numbers)
        file_id = f"BQACAgIAAxk{number:08d}{'x' * 40}"
        unique = f"AgAD{number:08d}"
        suffix = Path(name).suffix or ".bin"
        relative = f"{folder}/file_{number}{suffix}"
        directory = self._files_dir or Path(tempfile.mkdtemp(prefix="fake-telegram-"))
        self._files_dir = directory
        disk = directory / relative
        disk.parent.mkdir(parents=True, exist_ok=True)
        disk.write_bytes(data)
        self._files[file_id] = _File(file_id, unique, relative, disk, len(data))
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)}

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        width, height = _image_size(data) or (1280, 960)
        scale = 90 / max(width, height, 1)
        thumb = self._file_object(data, "photos", "thumb.jpg")
        thumb.update(width=max(1, round(width * scale)), height=max(1, round(height * scale)))
        full = self._file_object(data, "photos", "photo.jpg")
        full.update(width=width, height=height)
        return [thumb, full]

    def _known_file(self, file_id: str, what: str) -> dict[str, Any]:
        stored = self._files.get(file_id)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        found: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if what == "photo":
            width, height = _image_size(stored.disk.read_bytes()) or (1280, 960)
            found.update(width=width, height=height)
        return found


_METHODS: dict[str, _Handler] = {
    "getme": FakeTelegram.get_me,
    "getupdates": FakeTelegram.get_updates,
    "sendmessage": FakeTelegram.send_message,
    "editmessagetext": FakeTelegram.edit_message_text,
    "deletemessage": FakeTelegram.delete_message,
    "sendchataction": FakeTelegram.send_chat_action,
    "sendmessagedraft": FakeTelegram.send_message_draft,
    "senddocument": FakeTelegram.send_document,
    "sendphoto": FakeTelegram.send_photo,
    "sendvoice": FakeTelegram.send_voice,
    "getfile": FakeTelegram.get_file,
    "setmycommands": FakeTelegram.set_my_commands,
    "getmycommands": FakeTelegram.get_my_commands,
    "deletemycommands": FakeTelegram.delete_my_commands,
    "deletewebhook": FakeTelegram.delete_webhook,
    "getwebhookinfo": FakeTelegram.get_webhook_info,
}


def _answer(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)


def _formatted(
    params: _Params, text_field: str, entities_field: str
) -> tuple[str, list[dict[str, Any]]]:
    """The text of a request and its entities, from ``parse_mode`` or the entities field."""
    text = params.text(text_field) or ""
    mode = (params.text("parse_mode") or "").lower()
    if mode:
        parser = _PARSERS.get(mode)
        if parser is None:
            raise _bad_request(f"unsupported parse_mode {params.text('parse_mode')!r}")
        return parser(text)
    return text, check_entities(text, params.values.get(entities_field))


def _chat_type(chat_id: int) -> ChatType:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _default_user(chat_id: int) -> int:
    """In a private chat the chat id is the person's id."""
    return chat_id if chat_id > 0 else 4242


def _user(user_id: int, chat: Mapping[str, Any]) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "language_code": "en"}
    if chat["type"] == "private" and chat["id"] == user_id:
        user["first_name"] = chat.get("first_name", "Tester")
        if "username" in chat:
            user["username"] = chat["username"]
    else:
        user["first_name"] = f"User {user_id}"
    return user


def _caption(caption: str | None) -> dict[str, Any]:
    return {"caption": caption} if caption else {}


def _mime(upload: _Upload) -> str:
    if upload.content_type and upload.content_type != "application/octet-stream":
        return upload.content_type
    return mimetypes.guess_type(upload.name)[0] or "application/octet-stream"


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _scope_key(scope: Any) -> str:
    if not scope:
        return json.dumps({"type": "default"})
    return json.dumps(scope, sort_keys=True)


_Kind = Literal["text", "photo", "document", "voice"]
_FILE_KINDS: tuple[_Kind, ...] = ("photo", "document", "voice")


def _snapshot(chat_id: int, stored: _Stored) -> SentMessage:
    message = stored.message
    kind: _Kind = next((k for k in _FILE_KINDS if k in message), "text")
    file_name = None
    if kind == "document":
        file_name = message["document"].get("file_name")
    text = message.get("text", message.get("caption", ""))
    entities = message.get("entities", message.get("caption_entities", []))
    reply = message.get("reply_to_message")
    return SentMessage(
        chat_id=chat_id,
        message_id=message["message_id"],
        kind=kind,
        text=text,
        entities=tuple(entities),
        edits=tuple(stored.edits),
        reply_to_message_id=reply["message_id"] if reply else None,
        file=stored.data,
        file_name=file_name,
        raw=message,
    )


# --- pytest -------------------------------------------------------------------


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A running :class:`FakeTelegram` (flood control on), stopped after the test."""
    async with FakeTelegram() as fake:
        yield fake


__all__ = [
    "CAPTION_LIMIT",
    "CONFLICT",
    "MESSAGE_LIMIT",
    "NOT_MODIFIED",
    "ApiCall",
    "BotApiError",
    "Draft",
    "EntityParseError",
    "FakeTelegram",
    "Rate",
    "RateLimits",
    "SentMessage",
    "check_entities",
    "fake_telegram",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "too_many_requests",
]
