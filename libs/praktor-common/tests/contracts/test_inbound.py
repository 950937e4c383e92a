"""InboundMessage: what a gateway publishes for every update."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from praktor_common.contracts.inbound import InboundMessage


def _photo() -> dict[str, Any]:
    return {
        "bucket": "praktor-files",
        "key": "inbound/telegram/4242/abc",
        "name": "photo.jpg",
        "mime_type": "image/jpeg",
        "size": 2048,
        "kind": "photo",
    }


def test_a_text_message_round_trips(origin_json: dict[str, Any]) -> None:
    body = {
        "dedupe_id": "telegram:1001",
        "origin": origin_json,
        "sender_name": "Ana",
        "text": "@coder fix the bug",
        "received_at": "2026-02-17T10:20:00Z",
    }
    message = InboundMessage.model_validate(body)
    assert message.received_at == datetime(2026, 2, 17, 10, 20, tzinfo=UTC)
    assert message.attachments == []
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message


def test_each_message_gets_its_own_msg_id_that_survives_a_round_trip(
    origin_json: dict[str, Any],
) -> None:
    a = InboundMessage.model_validate({"dedupe_id": "t:1", "origin": origin_json, "text": "hi"})
    b = InboundMessage.model_validate({"dedupe_id": "t:2", "origin": origin_json, "text": "hi"})
    assert a.msg_id != b.msg_id
    assert InboundMessage.model_validate_json(a.model_dump_json()).msg_id == a.msg_id


def test_an_album_carries_several_attachments_and_a_reply_to(origin_json: dict[str, Any]) -> None:
    message = InboundMessage.model_validate(
        {
            "dedupe_id": "telegram:1002",
            "origin": origin_json,
            "caption": "what are these?",
            "attachments": [_photo(), _photo() | {"kind": "document", "name": "a.pdf"}],
            "media_group_id": "album-1",
            "reply_to": {"message_id": "55", "agent_id": "coder", "text": "earlier answer"},
        }
    )
    assert [a.kind for a in message.attachments] == ["photo", "document"]
    assert message.reply_to is not None
    assert message.reply_to.agent_id == "coder"


def test_origin_is_required(origin_json: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="origin"):
        InboundMessage.model_validate({"dedupe_id": "t:1", "text": "hi"})


def test_a_message_without_any_content_is_refused(origin_json: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="needs text"):
        InboundMessage.model_validate({"dedupe_id": "t:1", "origin": origin_json})


def test_a_voice_note_may_carry_only_a_transcript(origin_json: dict[str, Any]) -> None:
    voice = _photo() | {"kind": "voice", "name": "voice.ogg", "mime_type": "audio/ogg"}
    message = InboundMessage.model_validate(
        {
            "dedupe_id": "t:3",
            "origin": origin_json,
            "attachments": [voice],
            "voice_transcript": "remind me at nine",
        }
    )
    assert message.voice_transcript == "remind me at nine"


@pytest.mark.parametrize(
    "bad",
    [
        {"received_at": "2026-02-17T10:20:00"},
        {"agent_id": "Coder"},
        {"reply_to": {"message_id": "5", "agent_id": "bad.id"}},
        {"attachments": [{**_photo(), "kind": "sticker"}]},
        {"attachments": [{**_photo(), "size": -1}]},
        {"attachments": [{**_photo(), "name": "../../etc/passwd"}]},
        {"attachments": [{**_photo(), "name": ".."}]},
        {"attachments": [{**_photo(), "name": "a\\b.txt"}]},
        {"dedupe_id": ""},
        {"msg_id": "not-a-uuid"},
        {"surprise": True},
    ],
)
def test_malformed_inbound_messages_are_refused(
    origin_json: dict[str, Any], bad: dict[str, Any]
) -> None:
    body = {"dedupe_id": "t:1", "origin": origin_json, "text": "hi"} | bad
    with pytest.raises(ValidationError):
        InboundMessage.model_validate(body)
