"""Reading Telegram updates: what is passed on, with which names, and what is skipped."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update

from praktor_common.testing.fake_telegram import FakeTelegram
from praktor_gateway_telegram.updates import MAX_TEXT_CHARS, cut, read_update


@pytest.fixture
def fake() -> FakeTelegram:
    """The fake only as a maker of real-shaped updates (no server needed)."""
    return FakeTelegram()


def read(raw: dict[str, Any]):  # type: ignore[no-untyped-def]
    return read_update(Update.model_validate(raw))


def test_a_text_message_carries_chat_sender_and_ids(fake: FakeTelegram) -> None:
    fake.add_chat(42, username="ada")
    raw = fake.push_text(42, "hello there")
    message = read(raw)
    assert message is not None
    assert (message.update_id, message.chat_id, message.user_id) == (raw["update_id"], 42, 42)
    assert message.text == "hello there"
    assert message.file is None
    assert message.sender_name == "@ada"


def test_a_command_is_passed_on_as_text(fake: FakeTelegram) -> None:
    message = read(fake.push_text(42, "/reset@praktor_test_bot"))
    assert message is not None
    assert message.text == "/reset@praktor_test_bot"


def test_a_reply_names_the_quoted_message_and_its_text(fake: FakeTelegram) -> None:
    first = fake.push_text(42, "the original")
    message = read(fake.push_text(42, "answer", reply_to=first["message"]["message_id"]))
    assert message is not None
    assert message.reply_to_message_id == first["message"]["message_id"]
    assert message.reply_to_text == "the original"


def test_a_photo_takes_the_largest_size_with_spec_defaults(fake: FakeTelegram) -> None:
    raw = fake.push_photo(42, b"\x89PNG not really", caption="look")
    message = read(raw)
    assert message is not None
    assert message.file is not None
    assert message.file.file_id == raw["message"]["photo"][-1]["file_id"]
    assert (message.file.name, message.file.mime_type, message.file.kind) == (
        "photo.jpg",
        "image/jpeg",
        "photo",
    )
    assert message.caption == "look"
    assert message.text == ""


def test_a_document_keeps_its_name_and_type(fake: FakeTelegram) -> None:
    message = read(fake.push_document(42, b"a,b\n", file_name="report.csv"))
    assert message is not None
    assert message.file is not None
    assert (message.file.name, message.file.mime_type, message.file.kind) == (
        "report.csv",
        "text/csv",
        "document",
    )


def test_a_document_without_name_or_type_gets_the_defaults(fake: FakeTelegram) -> None:
    message = read(fake.push_document(42, b"x", file_name=None))
    assert message is not None
    assert message.file is not None
    assert (message.file.name, message.file.mime_type) == ("document", "application/octet-stream")


def test_a_voice_note_is_voice_ogg(fake: FakeTelegram) -> None:
    message = read(fake.push_voice(42, b"OggS..."))
    assert message is not None
    assert message.is_voice
    assert (message.file and message.file.name) == "voice.ogg"


def test_album_parts_carry_their_media_group(fake: FakeTelegram) -> None:
    parts = [read(u) for u in fake.push_album(42, [("photo", b"1"), ("document", b"2")])]
    assert all(p is not None for p in parts)
    groups = {p.media_group_id for p in parts if p is not None}
    assert len(groups) == 1
    assert None not in groups


def test_a_channel_post_has_no_sender_and_is_skipped(fake: FakeTelegram) -> None:
    assert read(fake.push_channel_post(-1001234, "news")) is None


def test_updates_of_unknown_or_other_types_are_skipped(fake: FakeTelegram) -> None:
    assert read({"update_id": 1, "brand_new_kind": {"x": 1}}) is None
    assert read({"update_id": 2}) is None
    edited = fake.push_text(42, "x")["message"]
    assert read({"update_id": 3, "edited_message": edited}) is None


def test_a_message_from_another_bot_or_without_content_is_skipped(fake: FakeTelegram) -> None:
    raw = fake.push_text(42, "hi")
    raw["message"]["from"]["is_bot"] = True
    assert read(raw) is None
    sticker_only = fake.push_message(42, {"location": {"latitude": 1.0, "longitude": 2.0}})
    assert read(sticker_only) is None


def test_a_huge_text_is_cut_and_says_so(fake: FakeTelegram) -> None:
    message = read(fake.push_text(42, "x" * (MAX_TEXT_CHARS * 3)))
    assert message is not None
    assert len(message.text) == MAX_TEXT_CHARS
    assert message.text.endswith(f"the message was {MAX_TEXT_CHARS * 3} characters long]")


def test_cut_leaves_short_text_alone() -> None:
    assert cut("short") == "short"
    assert cut(None) is None
