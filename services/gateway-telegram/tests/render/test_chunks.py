"""Splitting a long reply into Telegram messages (spec §11.11, without its unsafe cuts)."""

from __future__ import annotations

import pytest

from praktor_gateway_telegram.render import (
    MESSAGE_LIMIT,
    Entity,
    FormattedText,
    chunk_spans,
    render_markdown,
    split_message,
    utf16_len,
)


def _texts(message: FormattedText, limit: int = MESSAGE_LIMIT) -> list[str]:
    return [piece.text for piece in split_message(message, limit)]


class TestWhenItFits:
    def test_a_short_message_is_one_piece_unchanged(self) -> None:
        message = render_markdown("**hi** there")
        assert split_message(message) == [message]

    def test_exactly_the_limit_is_one_piece(self) -> None:
        message = FormattedText("x" * MESSAGE_LIMIT)
        assert _texts(message) == ["x" * MESSAGE_LIMIT]

    def test_the_limit_counts_utf16_units_not_characters(self) -> None:
        # 2049 emoji are 2049 characters but 4098 UTF-16 units: too long for one message.
        message = FormattedText("😀" * 2049)
        assert _texts(message) == ["😀" * 2048, "😀"]

    def test_an_empty_message_has_no_pieces(self) -> None:
        assert split_message(FormattedText("")) == []
        assert split_message(FormattedText(" \n ")) == []


class TestWhereAPieceEnds:
    def test_after_a_line_past_half_of_the_limit(self) -> None:
        message = FormattedText("a" * 3000 + "\n" + "b" * 2000)
        assert _texts(message) == ["a" * 3000, "b" * 2000]

    def test_not_after_a_line_before_half_of_the_limit(self) -> None:
        message = FormattedText("a" * 1000 + "\n" + "b" * 5000)
        first, second = _texts(message)
        assert first == "a" * 1000 + "\n" + "b" * 3095
        assert second == "b" * 1905

    def test_a_paragraph_break_is_preferred_to_a_later_line_break(self) -> None:
        message = FormattedText("a" * 2500 + "\n\n" + "b" * 1000 + "\n" + "c" * 2000)
        assert _texts(message) == ["a" * 2500, "b" * 1000 + "\n" + "c" * 2000]

    def test_a_line_break_is_preferred_to_a_later_space(self) -> None:
        message = FormattedText("a" * 2500 + "\n" + "b" * 1000 + " " + "c" * 2000)
        assert _texts(message) == ["a" * 2500, "b" * 1000 + " " + "c" * 2000]

    def test_between_words_when_there_is_no_line_break(self) -> None:
        words = " ".join(["word"] * 2000)  # 9999 characters
        pieces = _texts(FormattedText(words))
        assert all(utf16_len(p) <= MESSAGE_LIMIT for p in pieces)
        assert all(p.startswith("word") and p.endswith("word") for p in pieces)
        assert " ".join(pieces) == words

    def test_hard_cut_when_there_is_no_break_at_all(self) -> None:
        assert _texts(FormattedText("x" * 5000)) == ["x" * 4096, "x" * 904]


class TestCharactersAreNeverCut:
    def test_an_emoji_is_not_cut_in_half(self) -> None:
        # One unit short of room for the last emoji: it moves to the next piece.
        message = FormattedText("a" + "😀" * 2048)
        assert _texts(message) == ["a" + "😀" * 2047, "😀"]

    def test_a_combining_accent_stays_with_its_letter(self) -> None:
        message = FormattedText("a" * 4095 + "e\u0301" + "z")
        assert _texts(message) == ["a" * 4095, "e\u0301z"]

    def test_an_emoji_sequence_stays_whole(self) -> None:
        family = "👨\u200d👩\u200d👧"  # 8 UTF-16 units
        message = FormattedText("a" * 4090 + family)
        assert _texts(message) == ["a" * 4090, family]

    def test_a_flag_stays_whole(self) -> None:
        flag = "🇬🇷"
        message = FormattedText("a" * 4094 + flag + flag)
        assert _texts(message) == ["a" * 4094, flag + flag]

    def test_a_skin_tone_stays_with_its_emoji(self) -> None:
        message = FormattedText("a" * 4094 + "👍🏽")
        assert _texts(message) == ["a" * 4094, "👍🏽"]


class TestEntities:
    def test_offsets_are_rebased_in_each_piece(self) -> None:
        message = FormattedText(
            "a" * 3000 + "\n" + "xx " + "b" * 2000,
            (Entity("bold", 0, 2), Entity("italic", 3001, 2)),
        )
        first, second = split_message(message)
        assert first.entities == (Entity("bold", 0, 2),)
        assert second.entities == (Entity("italic", 0, 2),)

    def test_an_entity_across_the_cut_becomes_one_per_piece(self) -> None:
        text = "a" * 3000 + "\n" + "b" * 2000
        link = Entity("text_link", 2990, 20, url="https://example.com")
        first, second = split_message(FormattedText(text, (link,)))
        assert first.entities == (Entity("text_link", 2990, 10, url="https://example.com"),)
        assert second.entities == (Entity("text_link", 0, 9, url="https://example.com"),)

    def test_an_entity_over_dropped_whitespace_only_is_dropped(self) -> None:
        text = "a" * 3000 + "\n\n" + "b" * 2000
        first, second = split_message(FormattedText(text, (Entity("bold", 3000, 2),)))
        assert first.entities == second.entities == ()


class TestCodeBlocks:
    def test_a_code_block_that_fits_is_moved_whole_to_the_next_piece(self) -> None:
        code = "\n".join(f"line {i}" for i in range(400))  # ~3.2k, fits alone
        text = "intro " * 200 + "\n\n" + code
        pre_at = utf16_len("intro " * 200 + "\n\n")
        message = FormattedText(text, (Entity("pre", pre_at, len(code), language="py"),))
        first, second = split_message(message)
        assert first.text == ("intro " * 200).rstrip()
        assert second == FormattedText(code, (Entity("pre", 0, len(code), language="py"),))

    def test_a_code_block_that_fits_is_kept_whole_even_early_in_the_piece(self) -> None:
        intro = "i" * 100
        code = "\n".join("x" * 100 for _ in range(40))  # 4039 units: fits alone
        text = intro + "\n\n" + code + "\n\nafter"
        message = FormattedText(text, (Entity("pre", 102, len(code)),))
        pieces = split_message(message)
        assert [p.text for p in pieces] == [intro, code + "\n\nafter"]
        assert pieces[1].entities == (Entity("pre", 0, len(code)),)

    def test_a_code_block_longer_than_a_message_is_cut_between_lines(self) -> None:
        lines = [f"{i:04d} " + "y" * 94 for i in range(100)]  # 100 lines of 99
        code = "\n".join(lines)
        message = FormattedText(code, (Entity("pre", 0, len(code), language="rust"),))
        pieces = split_message(message)
        assert len(pieces) == 3
        for piece in pieces:
            assert piece.entities == (Entity("pre", 0, len(piece.text), language="rust"),)
            assert all(line in lines for line in piece.text.split("\n"))
        assert "\n".join(p.text for p in pieces) == code

    def test_a_long_code_block_fills_the_piece_it_starts_in(self) -> None:
        code = "\n".join("z" * 99 for _ in range(60))
        text = "Here:\n\n" + code
        message = FormattedText(text, (Entity("pre", 7, len(code)),))
        first = split_message(message)[0]
        assert first.text.startswith("Here:\n\nzzz")
        assert first.entities == (Entity("pre", 7, len(first.text) - 7),)

    def test_a_code_line_longer_than_a_message_is_cut_hard(self) -> None:
        code = "q" * 5000
        pieces = split_message(FormattedText(code, (Entity("pre", 0, 5000),)))
        assert [p.entities for p in pieces] == [
            (Entity("pre", 0, 4096),),
            (Entity("pre", 0, 904),),
        ]


def test_a_rendered_reply_splits_into_sendable_messages() -> None:
    section = "## Part\n\nSome **bold** text and a [link](https://example.com).\n\n"
    code = "```python\n" + "\n".join(f"print({i})" for i in range(300)) + "\n```\n\n"
    message = render_markdown((section * 40 + code) * 3)
    pieces = split_message(message)
    assert len(pieces) > 1
    assert all(p.utf16_length <= MESSAGE_LIMIT for p in pieces)
    pre_pieces = [e for p in pieces for e in p.entities if e.type == "pre"]
    assert len(pre_pieces) == 3  # each code block fits and stays whole
    assert all(e.language == "python" for e in pre_pieces)


def test_the_limit_must_hold_a_character() -> None:
    with pytest.raises(ValueError, match="limit"):
        chunk_spans(FormattedText("abc"), 1)
