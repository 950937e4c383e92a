"""Full-text and semantic search that user text cannot break.

User text never reaches the ``tsquery`` parser raw: it is cleaned
(:func:`clean_query`) and handed to ``websearch_to_tsquery('simple', …)`` as
a bound parameter. That function accepts any input without a syntax error
and understands what people type into search boxes: plain words (all must
match), ``"quoted phrases"``, ``or``, and ``-word`` to exclude. Text with no
words in it matches nothing.

Semantic recall of memories scores every embedded memory of the agent by dot
product (vectors are L2-normalized) in SQL; :func:`rrf_fuse` merges keyword
and semantic rankings (Reciprocal Rank Fusion, k = 60, spec §7.9).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Float,
    Select,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, REAL

from praktor_common.db.models import Memory, Message

MAX_QUERY_CHARS = 500
DEFAULT_MESSAGE_LIMIT = 20
DEFAULT_MEMORY_LIMIT = 20
RRF_K = 60

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")

K = TypeVar("K", bound=Hashable)


def clean_query(query: str) -> str:
    """``query`` without control characters (NUL included), spaces collapsed, at most 500 chars.

    PostgreSQL rejects NUL in text, and very long words cannot be lexemes;
    everything else is left for ``websearch_to_tsquery`` to interpret.
    """
    cleaned = _SPACE.sub(" ", _CONTROL.sub(" ", query)).strip()
    return cleaned[:MAX_QUERY_CHARS]


def websearch_query(query: str) -> ColumnElement[str]:
    """``websearch_to_tsquery('simple', :q)`` with the cleaned ``query`` bound as a parameter."""
    return func.websearch_to_tsquery(
        literal_column("'simple'::regconfig"),
        bindparam(None, clean_query(query), unique=True),
    )


def message_search(agent_id: str, query: str, limit: int = 0) -> Select[Message]:
    """Messages of ``agent_id`` matching ``query``, best match first.

    Ties (and equal ranks) go newest first. ``limit <= 0`` means 20.
    """
    tsquery = websearch_query(query)
    rank = func.ts_rank_cd(Message.search, tsquery)
    return (
        select(Message)
        .where(Message.agent_id == agent_id, Message.search.bool_op("@@")(tsquery))
        .order_by(rank.desc(), Message.created_at.desc(), Message.id.desc())
        .limit(limit if limit > 0 else DEFAULT_MESSAGE_LIMIT)
    )


def memory_search(agent_id: str, query: str, limit: int = 0) -> Select[Memory]:
    """Memories of ``agent_id`` matching ``query`` in key, tags or content, best first.

    A match in the key weighs more than one in the tags, which weighs more
    than one in the content. ``limit <= 0`` means 20.
    """
    tsquery = websearch_query(query)
    rank = func.ts_rank(Memory.search, tsquery)
    return (
        select(Memory)
        .where(Memory.agent_id == agent_id, Memory.search.bool_op("@@")(tsquery))
        .order_by(rank.desc(), Memory.updated_at.desc(), Memory.id.desc())
        .limit(limit if limit > 0 else DEFAULT_MEMORY_LIMIT)
    )


def memory_similarity_search(
    agent_id: str,
    embedding: Sequence[float],
    *,
    model: str | None = None,
    limit: int = 0,
) -> Select[Memory, float]:
    """``(memory, score)`` for embedded memories of ``agent_id``, most similar first.

    The score is the dot product with ``embedding`` (cosine similarity for
    normalized vectors). Only memories whose vector has the same dimension,
    and, when ``model`` is given, were embedded by that model, are scored.
    ``limit <= 0`` means 20.
    """
    vector_type: ARRAY[float] = ARRAY(REAL())
    vector: BindParameter[Sequence[float]] = bindparam(
        None, [float(x) for x in embedding], type_=vector_type, unique=True
    )
    pairs = func.unnest(Memory.embedding, vector).table_valued("a", "b").render_derived()
    # in double precision: a product of two small reals underflows ``real`` and
    # PostgreSQL raises "value out of range: underflow" instead of rounding to 0
    double: DOUBLE_PRECISION[float] = DOUBLE_PRECISION()
    score = (
        select(func.sum(cast(pairs.c.a, double) * cast(pairs.c.b, double), type_=Float()))
        .select_from(pairs)
        .scalar_subquery()
        .label("score")
    )
    stmt = select(Memory, score).where(
        Memory.agent_id == agent_id,
        Memory.embedding.is_not(None),
        func.cardinality(Memory.embedding) == len(embedding),
    )
    if model is not None:
        stmt = stmt.where(Memory.embedding_model == model)
    return stmt.order_by(score.desc(), Memory.id).limit(
        limit if limit > 0 else DEFAULT_MEMORY_LIMIT
    )


def rrf_fuse(*rankings: Sequence[K], k: int = RRF_K) -> list[tuple[K, float]]:
    """Reciprocal Rank Fusion: ``score(x) = Σ 1 / (k + rank)`` with 1-based ranks.

    Returns every item of every ranking with its fused score, best first; equal
    scores keep the order in which the items were first seen.
    """
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)
