"""Properties of splitting that hold for any text, entities and limit (hypothesis).

What splitting may drop is defined as: whitespace only. Between two pieces,
before the first and after the last, the original text has nothing but
whitespace; everything else is in exactly one piece, in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from praktor_gateway_telegram.render import (
    Entity,
    FormattedText,
    chunk_spans,
    render_markdown,
    split_message,
    utf16_len,
)

# Pieces of text, some of them several characters that must stay together.
_ATOMS = [
    "a", "b", "word", "x", " ", " ", "\n", "\n\n", ".", "é", "日本",
    "😀", "👍🏽", "e\u0301", "👨\u200d👩\u200d👧", "🇬🇷", "❤\ufe0f", "\t",
]  # fmt: skip
_JOINERS = ("\u0301", "\u200d", "\ufe0f", "\U0001f3fd", "\U0001f1f7")
_ENTITY_TYPES = ("bold", "italic", "code", "text_link", "strikethrough")


@dataclass(frozen=True)
class _Case:
    message: FormattedText
    limit: int


def _utf16_at(text: str, index: int) -> int:
    return utf16_len(text[:index])


@st.composite
def _cases(draw: st.DrawFn) -> _Case:
    blocks: list[tuple[str, bool]] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            lines = draw(
                st.lists(st.text(alphabet="abc xyz(){}=;#", max_size=60), min_size=1, max_size=30)
            )
            blocks.append(("\n".join(lines) or "x", True))
        else:
            atoms = draw(st.lists(st.sampled_from(_ATOMS), min_size=1, max_size=120))
            blocks.append(("".join(atoms), False))
    text, entities = "", []
    for body, is_code in blocks:
        text += draw(st.sampled_from(["", "\n", "\n\n", " "])) if text else ""
        start = len(text)
        text += body
        if is_code and body.strip():
            entities.append(
                Entity(
                    "pre",
                    _utf16_at(text, start),
                    utf16_len(body),
                    language=draw(st.sampled_from([None, "py"])),
                )
            )
    for _ in range(draw(st.integers(0, 6))):
        if not text:
            break
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        kind = draw(st.sampled_from(_ENTITY_TYPES))
        url = "https://example.com" if kind == "text_link" else None
        offset = _utf16_at(text, start)
        entities.append(Entity(kind, offset, _utf16_at(text, end) - offset, url=url))
    limit = draw(st.integers(8, 400))
    return _Case(FormattedText(text, tuple(entities)), limit)


_settings = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@_settings
@given(_cases())
def test_only_whitespace_is_dropped(case: _Case) -> None:
    text = case.message.text
    spans = chunk_spans(case.message, case.limit)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end
        assert text[previous_end:start].strip() == ""
        previous_end = end
    assert text[previous_end:].strip() == ""
    pieces = split_message(case.message, case.limit)
    assert [p.text for p in pieces] == [text[s:e] for s, e in spans]


@_settings
@given(_cases())
def test_every_piece_fits_and_is_sendable(case: _Case) -> None:
    for piece in split_message(case.message, case.limit):
        assert piece.utf16_length <= case.limit
        assert piece.text.strip(), "Telegram refuses an empty message"
        assert piece.text == piece.text.rstrip()
        assert not piece.text.startswith("\n")
        piece.text.encode("utf-16-le")  # strict: raises on a lone surrogate


@_settings
@given(_cases())
def test_no_piece_starts_inside_a_character_cluster(case: _Case) -> None:
    for piece in split_message(case.message, case.limit)[1:]:
        if case.limit >= 8:  # every cluster used here is at most 8 units
            assert not piece.text.startswith(_JOINERS)
    for piece in split_message(case.message, case.limit):
        assert not piece.text.endswith("\u200d")


@_settings
@given(_cases())
def test_entities_are_clipped_to_their_piece_and_nothing_else(case: _Case) -> None:
    text = case.message.text
    spans = chunk_spans(case.message, case.limit)
    pieces = split_message(case.message, case.limit)
    for (start, end), piece in zip(spans, pieces, strict=True):
        low, high = _utf16_at(text, start), _utf16_at(text, end)
        expected = set()
        for entity in case.message.entities:
            clip_start, clip_end = max(entity.offset, low), min(entity.end, high)
            if clip_end > clip_start:
                expected.add(entity.moved(clip_start - low, clip_end - clip_start))
        assert set(piece.entities) == expected
        for entity in piece.entities:
            assert 0 <= entity.offset < entity.end <= piece.utf16_length
            piece.covered(entity).encode("utf-16-le")  # never half a surrogate pair


@_settings
@given(_cases())
def test_a_code_block_that_fits_is_never_cut(case: _Case) -> None:
    text = case.message.text
    spans = chunk_spans(case.message, case.limit)
    for entity in case.message.entities:
        if entity.type != "pre" or entity.length > case.limit:
            continue
        content = case.message.covered(entity).strip()
        if not content:
            continue
        holders = [
            (s, e)
            for s, e in spans
            if _utf16_at(text, s) < entity.end and entity.offset < _utf16_at(text, e)
        ]
        assert len(holders) == 1, f"a {entity.length}-unit block cut at limit {case.limit}"


@_settings
@given(st.text(max_size=3000), st.integers(16, 600))
def test_any_rendered_markdown_splits_within_the_limit(markdown: str, limit: int) -> None:
    message = render_markdown(markdown)
    pieces = split_message(message, limit)
    assert all(p.utf16_length <= limit for p in pieces)
    assert "".join("".join(p.text.split()) for p in pieces) == "".join(message.text.split())
