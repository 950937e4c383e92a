"""Full-text search: user text cannot break the query, and words are found."""

from __future__ import annotations

import datetime as dt
import random
import string

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from praktor_common.db.agents import upsert_agent
from praktor_common.db.engine import session_factory
from praktor_common.db.messages import insert_message
from praktor_common.db.models import Memory
from praktor_common.db.search import (
    MAX_QUERY_CHARS,
    clean_query,
    memory_search,
    memory_similarity_search,
    message_search,
    rrf_fuse,
)

T0 = dt.datetime(2026, 2, 17, 4, 35, tzinfo=dt.UTC)

HOSTILE_QUERIES = [
    "",
    " ",
    '"',
    '"""',
    '"unbalanced',
    "unbalanced'",
    "&|!():*",
    "& | ! ( ) : *",
    "deploy & ",
    "!deploy",
    "deploy:*",
    "(deploy",
    "deploy)",
    "<->",
    "deploy <-> server",
    "a:ABCD",
    "-",
    "--",
    "or",
    "deploy or",
    "\\",
    "'; DROP TABLE messages; --",
    "NEAR(deploy server)",
    "deploy\x00server",
    "\x01\x02\x7f",
    "ñandú 漢字 🙂",
    "x" * 5000,
    " ".join(["word"] * 2000),
]


@pytest.fixture
async def sessions(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    factory = session_factory(migrated_engine)
    async with factory.begin() as session:
        await upsert_agent(session, id="coder", workspace="coder")
        await upsert_agent(session, id="helper", workspace="helper")
        contents = [
            ("coder", "We deploy the server on Friday"),
            ("coder", "The deployment failed: disk full"),
            ("coder", "Lunch at noon?"),
            ("coder", "Server restarted after the deploy"),
            ("coder", "Das Frühstück ist fertig, ñandú 漢字"),
            ("helper", "helper also talks about deploy"),
        ]
        for i, (agent, content) in enumerate(contents):
            await insert_message(
                session,
                msg_id=f"m{i}",
                agent_id=agent,
                sender="user",
                role="user",
                content=content,
                created_at=T0 + dt.timedelta(minutes=i),
            )
    return factory


async def _search(
    sessions: async_sessionmaker[AsyncSession], query: str, agent_id: str = "coder"
) -> list[str]:
    async with sessions() as session:
        return [m.content for m in (await session.scalars(message_search(agent_id, query)))]


@pytest.mark.integration
async def test_hostile_queries_never_raise(sessions: async_sessionmaker[AsyncSession]) -> None:
    for query in HOSTILE_QUERIES:
        try:
            results = await _search(sessions, query)
        except Exception as exc:  # pragma: no cover - the failure we guard against
            pytest.fail(f"message search for {query[:40]!r} raised {exc!r}")
        assert isinstance(results, list)


@pytest.mark.integration
async def test_random_punctuation_soup_never_raises(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(1234)
    alphabet = string.punctuation + " deploy"
    for _ in range(200):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        try:
            await _search(sessions, query)
        except Exception as exc:  # pragma: no cover - the failure we guard against
            pytest.fail(f"message search for {query!r} raised {exc!r}")


@pytest.mark.integration
async def test_a_word_finds_the_messages_containing_it_case_insensitively(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert sorted(await _search(sessions, "DEPLOY")) == [
        "Server restarted after the deploy",
        "We deploy the server on Friday",
    ]


@pytest.mark.integration
async def test_all_words_must_match(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await _search(sessions, "deploy friday") == ["We deploy the server on Friday"]


@pytest.mark.integration
async def test_quoted_phrases_or_and_exclusion_work_like_a_search_box(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await _search(sessions, '"after the deploy"') == ["Server restarted after the deploy"]
    assert sorted(await _search(sessions, "lunch or friday")) == [
        "Lunch at noon?",
        "We deploy the server on Friday",
    ]
    assert await _search(sessions, "deploy -friday") == ["Server restarted after the deploy"]


@pytest.mark.integration
async def test_search_stays_within_the_agent(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await _search(sessions, "helper") == []
    assert await _search(sessions, "deploy", agent_id="helper") == [
        "helper also talks about deploy"
    ]


@pytest.mark.integration
async def test_words_with_punctuation_around_them_are_still_found(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await _search(sessions, "(disk) full!") == ["The deployment failed: disk full"]
    assert await _search(sessions, "deployment:*") == ["The deployment failed: disk full"]


@pytest.mark.integration
async def test_non_latin_words_are_found(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await _search(sessions, "ñandú") == ["Das Frühstück ist fertig, ñandú 漢字"]
    assert await _search(sessions, "Frühstück") == ["Das Frühstück ist fertig, ñandú 漢字"]


@pytest.mark.integration
async def test_the_limit_applies_and_non_positive_means_twenty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for i in range(30):
            await insert_message(
                session,
                msg_id=f"bulk{i}",
                agent_id="coder",
                sender="user",
                role="user",
                content=f"bulk message {i}",
            )
    async with sessions() as session:
        assert len((await session.scalars(message_search("coder", "bulk", 5))).all()) == 5
        assert len((await session.scalars(message_search("coder", "bulk", 0))).all()) == 20
        assert len((await session.scalars(message_search("coder", "bulk", -1))).all()) == 20


@pytest.mark.integration
async def test_a_huge_message_can_be_stored_and_searched(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(7)
    words = ["".join(rng.choices(string.ascii_lowercase, k=12)) for _ in range(200_000)]
    huge = " ".join(["needle", *words])  # ~2.6 MB of distinct words: more than a tsvector holds
    async with sessions.begin() as session:
        await insert_message(
            session, msg_id="huge", agent_id="coder", sender="agent", role="assistant", content=huge
        )
    async with sessions() as session:
        found = (await session.scalars(message_search("coder", "needle"))).all()
    assert [m.msg_id for m in found] == ["huge"]


def test_clean_query_drops_control_characters_and_caps_the_length() -> None:
    assert clean_query("  deploy\x00 \t server\n ") == "deploy server"
    assert len(clean_query("y" * 10_000)) == MAX_QUERY_CHARS


# --------------------------------------------------------------------------- memories


@pytest.fixture
async def memories(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    async with sessions.begin() as session:
        session.add_all(
            [
                Memory(
                    agent_id="coder",
                    key="coffee",
                    content="likes it black",
                    tags="preferences",
                    embedding=[1.0, 0.0, 0.0],
                    embedding_model="mini",
                ),
                Memory(
                    agent_id="coder",
                    key="birthday",
                    content="march 3, wants coffee beans",
                    tags="dates",
                    embedding=[0.0, 1.0, 0.0],
                    embedding_model="mini",
                ),
                Memory(
                    agent_id="coder",
                    key="editor",
                    content="uses helix",
                    tags="coffee-free",
                    embedding=[0.6, 0.8, 0.0],
                    embedding_model="mini",
                ),
                Memory(agent_id="coder", key="unembedded", content="no vector yet"),
                Memory(
                    agent_id="helper",
                    key="coffee",
                    content="someone else's memory",
                    embedding=[1.0, 0.0, 0.0],
                    embedding_model="mini",
                ),
            ]
        )
    return sessions


@pytest.mark.integration
async def test_memory_keyword_search_ranks_key_over_tags_over_content(
    memories: async_sessionmaker[AsyncSession],
) -> None:
    async with memories() as session:
        found = (await session.scalars(memory_search("coder", "coffee"))).all()
    assert [m.key for m in found] == ["coffee", "editor", "birthday"]


@pytest.mark.integration
async def test_memory_keyword_search_survives_hostile_queries(
    memories: async_sessionmaker[AsyncSession],
) -> None:
    for query in HOSTILE_QUERIES:
        async with memories() as session:
            try:
                await session.scalars(memory_search("coder", query))
            except Exception as exc:  # pragma: no cover - the failure we guard against
                pytest.fail(f"memory search for {query[:40]!r} raised {exc!r}")


@pytest.mark.integration
async def test_memory_similarity_orders_by_dot_product_within_the_agent(
    memories: async_sessionmaker[AsyncSession],
) -> None:
    async with memories() as session:
        rows = (await session.execute(memory_similarity_search("coder", [0.0, 1.0, 0.0]))).all()
    assert [(m.key, round(score, 3)) for m, score in rows] == [
        ("birthday", 1.0),
        ("editor", 0.8),
        ("coffee", 0.0),
    ]


@pytest.mark.integration
async def test_memory_similarity_ignores_other_dimensions_and_models(
    memories: async_sessionmaker[AsyncSession],
) -> None:
    async with memories() as session:
        wrong_dimension = (
            await session.execute(memory_similarity_search("coder", [1.0, 0.0]))
        ).all()
        other_model = (
            await session.execute(memory_similarity_search("coder", [1.0, 0.0, 0.0], model="big"))
        ).all()
    assert wrong_dimension == []
    assert other_model == []


def test_rrf_fuses_rankings_with_k_60() -> None:
    fused = rrf_fuse(["a", "b", "c"], ["c", "a"])
    assert [key for key, _ in fused] == ["a", "c", "b"]
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)


def test_rrf_of_nothing_is_empty() -> None:
    assert rrf_fuse() == []
    assert rrf_fuse([], []) == []


@pytest.mark.integration
async def test_memory_similarity_survives_products_too_small_for_a_real(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # real embeddings have components near 1e-23: their product underflows ``real``
    tiny = [1e-23, 0.6, 0.8]
    async with sessions.begin() as session:
        session.add(Memory(agent_id="coder", key="k", content="c", embedding=tiny))
    async with sessions() as session:
        rows = (await session.execute(memory_similarity_search("coder", tiny))).all()
    assert [(m.key, round(score, 3)) for m, score in rows] == [("k", 1.0)]
