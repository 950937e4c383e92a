"""The plain-text fallback, sent when Telegram refuses a message's entities."""

from __future__ import annotations

from praktor_gateway_telegram.render import (
    Entity,
    FormattedText,
    plain_fallback,
    render_markdown,
)


def test_formatting_is_dropped_and_the_text_kept() -> None:
    message = render_markdown("**Done**: `ls` _ran_")
    assert plain_fallback(message) == FormattedText("Done: ls ran")


def test_no_escapes_show_up() -> None:
    # Upstream resent the MarkdownV2-escaped text, so readers saw backslashes (spec §20.14).
    message = render_markdown("file.txt (copy) costs 5$ + tax!")
    assert plain_fallback(message).text == "file.txt (copy) costs 5$ + tax!"


def test_a_link_shows_its_url_after_its_text() -> None:
    message = render_markdown("see [the docs](https://example.com/docs) now")
    assert plain_fallback(message).text == "see the docs (https://example.com/docs) now"


def test_a_link_whose_text_is_its_url_is_not_repeated() -> None:
    message = FormattedText(
        "https://example.com", (Entity("text_link", 0, 19, url="https://example.com"),)
    )
    assert plain_fallback(message).text == "https://example.com"


def test_urls_are_added_only_while_the_message_stays_within_the_limit() -> None:
    text = "a" * 20 + " one two"
    message = FormattedText(
        text,
        (
            Entity("text_link", 21, 3, url="https://a.example"),
            Entity("text_link", 25, 3, url="https://b.example"),
        ),
    )
    limit = len(text) + len(" (https://a.example)")
    assert plain_fallback(message, limit).text == "a" * 20 + " one (https://a.example) two"


def test_urls_are_placed_right_after_emoji_text() -> None:
    message = FormattedText("😀 hi", (Entity("text_link", 0, 2, url="https://e.example"),))
    assert plain_fallback(message).text == "😀 (https://e.example) hi"
