"""Golden cases: how an agent's Markdown looks in Telegram (spec §11.12).

Upstream converted Markdown to a MarkdownV2 string; we send plain text plus
entities instead, so each case states what the reader sees: the visible text
and which part of it is bold, italic, a link, code… A MarkdownV2 escape in the
spec's expected output (``\\.``) is a character the reader sees unescaped.
"""

from __future__ import annotations

from praktor_gateway_telegram.render import Entity, FormattedText, render_markdown


def _bold(offset: int, length: int) -> Entity:
    return Entity("bold", offset, length)


def _italic(offset: int, length: int) -> Entity:
    return Entity("italic", offset, length)


def _code(offset: int, length: int) -> Entity:
    return Entity("code", offset, length)


def _link(offset: int, length: int, url: str) -> Entity:
    return Entity("text_link", offset, length, url=url)


def _pre(offset: int, length: int, language: str | None = None) -> Entity:
    return Entity("pre", offset, length, language=language)


def _looks(text: str, *entities: Entity) -> FormattedText:
    return FormattedText(text, entities)


# --- The worked examples of spec §11.12, one test each ----------------------


def test_double_star_is_bold() -> None:
    assert render_markdown("**bold**") == _looks("bold", _bold(0, 4))


def test_bold_inside_a_sentence_keeps_the_punctuation_after_it() -> None:
    assert render_markdown("hello **world**!") == _looks("hello world!", _bold(6, 5))


def test_heading_becomes_a_bold_line() -> None:
    assert render_markdown("# Title") == _looks("Title", _bold(0, 5))


def test_heading_that_is_already_bold_is_bold_once() -> None:
    assert render_markdown("## **Bold Title**") == _looks("Bold Title", _bold(0, 10))


def test_every_heading_level_is_bold_only() -> None:
    for level in range(1, 7):
        assert render_markdown("#" * level + " Deep") == _looks("Deep", _bold(0, 4)), level


def test_rule_alone_becomes_nothing() -> None:
    assert render_markdown("---") == _looks("")


def test_rule_between_lines_becomes_a_blank_line() -> None:
    assert render_markdown("above\n---\nbelow") == _looks("above\n\nbelow")


def test_dash_list_items_become_bullets() -> None:
    assert render_markdown("- item one\n- item two") == _looks("• item one\n• item two")


def test_star_list_items_become_bullets() -> None:
    assert render_markdown("* item one\n* item two") == _looks("• item one\n• item two")


def test_nested_list_item_keeps_its_indent() -> None:
    # Spec: "  - nested item" -> "  • nested item". In CommonMark an indented
    # item is nested only under a parent item, which is how agents write it.
    assert render_markdown("- parent\n  - nested item") == _looks("• parent\n  • nested item")


def test_image_becomes_a_link_to_the_image() -> None:
    assert render_markdown("![screenshot](https://example.com/img.png)") == _looks(
        "screenshot", _link(0, 10, "https://example.com/img.png")
    )


def test_code_block_content_is_untouched() -> None:
    code = "x = a_b * c  # **not bold** [not](link) \\ done."
    assert render_markdown(f"```\n{code}\n```") == _looks(code, _pre(0, len(code)))


def test_code_block_keeps_its_language() -> None:
    assert render_markdown("```python\nprint('hi')\n```") == _looks(
        "print('hi')", _pre(0, 11, "python")
    )


def test_dots_and_parentheses_need_no_escaping() -> None:
    assert render_markdown("file.txt (copy)") == _looks("file.txt (copy)")


def test_link_text_with_a_dot() -> None:
    assert render_markdown("[file.txt](https://example.com/a.txt)") == _looks(
        "file.txt", _link(0, 8, "https://example.com/a.txt")
    )


def test_inline_code_is_kept_as_code() -> None:
    assert render_markdown("run `ls -la` now") == _looks("run ls -la now", _code(4, 6))


def test_single_star_is_bold() -> None:
    assert render_markdown("*Total: 5 files*") == _looks("Total: 5 files", _bold(0, 14))


def test_escaped_underscore_shows_an_underscore() -> None:
    assert render_markdown("photo\\_2024.jpg") == _looks("photo_2024.jpg")


def test_escaped_dot_shows_a_dot() -> None:
    assert render_markdown("file\\.txt") == _looks("file.txt")


def test_attribution_prefix_is_italic() -> None:
    assert render_markdown("_agent:_ file.txt done!") == _looks(
        "agent: file.txt done!", _italic(0, 6)
    )


def test_backslash_before_a_letter_is_kept() -> None:
    assert render_markdown("a\\b") == _looks("a\\b")


def test_hash_without_space_is_not_a_heading() -> None:
    assert render_markdown("#tag") == _looks("#tag")


def test_arithmetic_signs_are_literal() -> None:
    assert render_markdown("a+b-c=d") == _looks("a+b-c=d")


def test_table_becomes_an_aligned_code_block() -> None:
    markdown = "| Name | Size |\n|------|-----:|\n| **a.txt** | 12 |\n| bb | 3 |"
    table = "Name  │ Size\n──────┼─────\na.txt │ 12\nbb    │ 3"
    assert render_markdown(markdown) == _looks(table, _pre(0, len(table)))


def test_table_cells_keep_code_and_links_as_written() -> None:
    markdown = "| a | b \\| c |\n|---|---|\n| `x` | [l](u) |"
    table = "a   │ b | c\n────┼───────\n`x` │ [l](u)"
    assert render_markdown(markdown) == _looks(table, _pre(0, len(table)))


def test_table_between_paragraphs_is_set_apart() -> None:
    markdown = "Sizes:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nDone."
    table = "a │ b\n──┼──\n1 │ 2"
    assert render_markdown(markdown) == _looks(f"Sizes:\n\n{table}\n\nDone.", _pre(8, len(table)))


# --- Further cases the gateway relies on -----------------------------------


def test_underscore_is_italic() -> None:
    assert render_markdown("_soft_") == _looks("soft", _italic(0, 4))


def test_double_tilde_is_strikethrough() -> None:
    assert render_markdown("~~gone~~ kept") == _looks("gone kept", Entity("strikethrough", 0, 4))


def test_single_tilde_means_approximately() -> None:
    assert render_markdown("~5 min to ~10 min") == _looks("~5 min to ~10 min")


def test_nested_formatting_gives_nested_entities() -> None:
    assert render_markdown("**bold _both_ bold**") == _looks(
        "bold both bold", _bold(0, 14), _italic(5, 4)
    )


def test_triple_star_is_bold_once() -> None:
    assert render_markdown("***loud***") == _looks("loud", _bold(0, 4))


def test_blockquote_is_a_quote() -> None:
    assert render_markdown("> quoted\n> lines") == _looks(
        "quoted\nlines", Entity("blockquote", 0, 12)
    )


def test_nested_blockquote_is_one_quote() -> None:
    # Telegram refuses a blockquote inside a blockquote.
    assert render_markdown("> outer\n> > inner") == _looks(
        "outer\ninner", Entity("blockquote", 0, 11)
    )


def test_ordered_list_keeps_its_numbers() -> None:
    assert render_markdown("1. one\n2. two") == _looks("1. one\n2. two")


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    assert render_markdown("one\n\n\n\ntwo\nthree") == _looks("one\n\ntwo\nthree")


def test_html_like_text_is_shown_as_written() -> None:
    assert render_markdown("a <b>tag</b> and Vec<String>") == _looks("a <b>tag</b> and Vec<String>")


def test_html_block_is_shown_as_written() -> None:
    assert render_markdown("<div>\nhi\n</div>\n\nafter") == _looks("<div>\nhi\n</div>\n\nafter")


def test_dollar_amounts_are_not_math() -> None:
    assert render_markdown("costs $5 or $x$ and $$y$$") == _looks("costs $5 or $x$ and $$y$$")


def test_entity_offsets_count_utf16_units() -> None:
    # The emoji is one Python character but two UTF-16 code units.
    assert render_markdown("a 😀 **b**") == _looks("a 😀 b", _bold(5, 1))


def test_relative_link_is_plain_text() -> None:
    # Telegram refuses a text_link whose URL is not absolute.
    assert render_markdown("[notes](./notes.md)") == _looks("notes")


def test_bare_url_is_left_for_telegram_to_link() -> None:
    assert render_markdown("see https://example.com/x.") == _looks("see https://example.com/x.")


def test_setext_heading_is_bold() -> None:
    assert render_markdown("Title\n=====\ntext") == _looks("Title\ntext", _bold(0, 5))


def test_task_list_shows_boxes() -> None:
    assert render_markdown("- [ ] todo\n- [x] done") == _looks("☐ todo\n☑ done")


def test_empty_input_is_empty() -> None:
    assert render_markdown("") == _looks("")
    assert render_markdown("  \n\n ") == _looks("")
