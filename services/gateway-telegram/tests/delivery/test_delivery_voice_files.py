"""Spoken replies (spec §12.3) and files an agent sends (spec §7.9, §11.8)."""

from __future__ import annotations

import struct
import zlib

import pytest

from praktor_gateway_telegram.delivery.testing import PERSON_MESSAGE, PRIVATE, Harness, make_config

pytestmark = pytest.mark.integration

OGG = b"OggS" + bytes(60)


class Voice:
    """A speech engine: returns OGG bytes, or fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.spoken: list[str] = []

    async def __call__(self, text: str) -> bytes:
        self.spoken.append(text)
        if self.fail:
            raise RuntimeError("speech API answered 500")
        return OGG


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def test_with_tts_always_the_answer_is_a_voice_note(harness: Harness) -> None:
    harness.config = make_config(api_key="sk-test", tts_enabled=True, tts_mode="always")
    voice = Voice()

    await harness.delivery(synthesize=voice).handle(harness.final(PRIVATE, "It is **sunny**."))

    [message] = harness.fake.sent_messages(PRIVATE)
    assert message.kind == "voice"
    assert message.file == OGG
    assert message.reply_to_message_id == PERSON_MESSAGE
    assert voice.spoken == ["It is sunny."]


async def test_in_voice_mode_only_answers_to_voice_notes_are_spoken(harness: Harness) -> None:
    harness.config = make_config(api_key="sk-test", tts_enabled=True, tts_mode="voice")
    delivery = harness.delivery(synthesize=Voice())
    spoken_to = harness.final(PRIVATE, "Answer to a voice note.")
    written_to = harness.final(PRIVATE, "Answer to text.")
    delivery.voice_turns.mark(spoken_to.msg_id)

    await delivery.handle(spoken_to)
    await delivery.handle(written_to)

    assert [m.kind for m in harness.fake.sent_messages(PRIVATE)] == ["voice", "text"]


async def test_when_synthesis_fails_the_answer_is_written(harness: Harness) -> None:
    harness.config = make_config(api_key="sk-test", tts_enabled=True, tts_mode="always")
    delivery = harness.final(PRIVATE, "Written instead.")

    await harness.delivery(synthesize=Voice(fail=True)).handle(delivery)

    assert harness.texts(PRIVATE) == ["Written instead."]
    rows = await harness.rows(f"{delivery.msg_id}:voice")
    assert rows[0][2] == "failed"


async def test_without_speech_configured_answers_are_written(harness: Harness) -> None:
    harness.config = make_config(tts_enabled=True, tts_mode="always")
    voice = Voice()

    await harness.delivery(synthesize=voice).handle(harness.final(PRIVATE, "Plain."))

    assert harness.texts(PRIVATE) == ["Plain."]
    assert voice.spoken == []


async def test_a_voice_note_interrupted_before_it_was_recorded_is_not_sent_again(
    harness: Harness,
) -> None:
    harness.config = make_config(api_key="sk-test", tts_enabled=True, tts_mode="always")
    answer = harness.final(PRIVATE, "Maybe spoken already.")
    await harness.delivery().records.intend(f"{answer.msg_id}:voice", PRIVATE, 0)

    await harness.delivery(synthesize=Voice()).handle(answer)

    assert [m.kind for m in harness.fake.sent_messages(PRIVATE)] == ["text"]


async def test_an_image_goes_as_a_photo_with_its_caption(harness: Harness) -> None:
    image = png()
    delivery = harness.file(PRIVATE, image, name="chart.png", mime_type="image/png", caption="Q3")

    await harness.delivery().handle(delivery)

    [message] = harness.fake.sent_messages(PRIVATE)
    assert message.kind == "photo"
    assert message.text == "Q3"
    assert message.file == image
    assert message.reply_to_message_id == PERSON_MESSAGE


async def test_other_files_go_as_documents_under_their_name(harness: Harness) -> None:
    data = b"a,b\n1,2\n"
    delivery = harness.file(PRIVATE, data, name="report.csv", mime_type="text/csv")

    await harness.delivery().handle(delivery)
    await harness.delivery().handle(delivery)

    [message] = harness.fake.sent_messages(PRIVATE)
    assert (message.kind, message.file_name, message.file) == ("document", "report.csv", data)


async def test_an_image_telegram_refuses_as_a_photo_goes_as_a_document(harness: Harness) -> None:
    broken = b"\x89PNG not really"
    delivery = harness.file(PRIVATE, broken, name="broken.png", mime_type="image/png")

    await harness.delivery().handle(delivery)

    [message] = harness.fake.sent_messages(PRIVATE)
    assert (message.kind, message.file_name) == ("document", "broken.png")


async def test_a_caption_too_long_for_a_file_follows_it_as_text(harness: Harness) -> None:
    caption = "A long description. " * 80
    delivery = harness.file(
        PRIVATE, b"data", name="notes.txt", mime_type="text/plain", caption=caption
    )

    await harness.delivery().handle(delivery)

    document, text = harness.fake.sent_messages(PRIVATE)
    assert (document.kind, document.text) == ("document", "")
    assert text.text == caption.strip()
