"""Recall by meaning, end to end: the runner's real embeddings, the host's store in PostgreSQL.

Memories are stored the way the memory tool stores them (the embedding of
``"<key> <tags> <content>"``) and recalled with the query's embedding: a
paraphrase with no word in common finds its memory, and the similarity floor
keeps unrelated memories out of every answer (spec §20 item 22).
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from praktor_agent_runner.embedding import MiniLM, bundled_model_dir
from praktor_common.db.models import Agent
from praktor_orchestrator.memory import SIMILARITY_FLOOR, MemoryStore

pytestmark = pytest.mark.integration

MEMORIES = {
    "dentist": ("health", "Appointment with Dr Rossi on Tuesday at 10:00"),
    "wifi": ("home", "The network is called Larkspur and the password is on the fridge"),
    "sister-birthday": ("family", "Anna was born on 3 June 1990"),
    "car": ("", "A blue 2015 Fiat Panda, registration due in March"),
}


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM(bundled_model_dir())


@pytest.fixture
async def store(migrated_engine: AsyncEngine, model: MiniLM) -> MemoryStore:
    async with migrated_engine.begin() as connection:
        await connection.execute(insert(Agent).values(id="coder", name="Coder", workspace="coder"))
    memories = MemoryStore(migrated_engine)
    for key, (tags, content) in MEMORIES.items():
        [vector] = model.embed([f"{key} {tags} {content}"])
        await memories.store("coder", key, content, tags, embedding=vector.tolist())
    return memories


async def recall(store: MemoryStore, model: MiniLM, query: str) -> list[str]:
    [vector] = model.embed([query])
    return [m.key for m in await store.recall("coder", query, embedding=vector.tolist())]


async def test_a_paraphrase_with_no_common_word_finds_its_memory_first(
    store: MemoryStore, model: MiniLM
) -> None:
    assert (await recall(store, model, "when must I see the dentist?"))[0] == "dentist"
    assert (await recall(store, model, "what is the internet passcode?"))[0] == "wifi"
    assert (await recall(store, model, "when does my sibling celebrate?"))[0] == ("sister-birthday")


async def test_an_unrelated_query_recalls_nothing_and_counts_no_access(
    store: MemoryStore, model: MiniLM
) -> None:
    assert await recall(store, model, "explain how photosynthesis works") == []
    assert all(m.access_count == 0 for m in await store.list("coder"))


async def test_recall_returns_only_memories_above_the_floor(
    store: MemoryStore, model: MiniLM
) -> None:
    found = await recall(store, model, "my vehicle paperwork")
    assert found[0] == "car"
    [query] = model.embed(["my vehicle paperwork"])
    for key in found:
        tags, content = MEMORIES[key]
        [memory] = model.embed([f"{key} {tags} {content}"])
        assert float(query @ memory) >= SIMILARITY_FLOOR


async def test_keywords_still_find_a_memory_the_meaning_alone_would_miss(
    store: MemoryStore, model: MiniLM
) -> None:
    assert "wifi" in await recall(store, model, "Larkspur")
