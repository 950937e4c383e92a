"""Agents' long-term memories (spec §7.9), in the ``memories`` table.

Recall is hybrid: full-text matches (key > tags > content) and — when the
runner sent the query's embedding — semantic matches, fused by Reciprocal Rank
Fusion (k = 60), best 20. Unlike upstream (spec §20 item 22), a semantic match
must reach :data:`SIMILARITY_FLOOR`: unrelated memories are not returned and
their access counts are not bumped. A memory whose text changes without a new
embedding loses its old one (never a stale vector).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from praktor_common.contracts.ipc import Memory as MemoryInfo
from praktor_common.db.models import Memory, utcnow
from praktor_common.db.search import (
    DEFAULT_MEMORY_LIMIT,
    memory_search,
    memory_similarity_search,
    rrf_fuse,
    websearch_query,
)

EMBEDDING_MODEL: Final = "all-MiniLM-L6-v2"
"""What the runner embeds with (``contracts.ipc.EMBEDDING_DIM`` dimensions, normalised)."""
SIMILARITY_FLOOR: Final = 0.3
"""Cosine similarity under which a memory is unrelated to the query (MiniLM scale)."""
CANDIDATES: Final = 50
"""How many of each ranking are fused."""


def to_info(row: Memory) -> MemoryInfo:
    return MemoryInfo(
        key=row.key,
        content=row.content,
        tags=row.tags,
        access_count=row.access_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_accessed_at=row.last_accessed_at,
    )


class MemoryStore:
    """One agent's memories at a time; every method is scoped by ``agent_id``."""

    def __init__(self, engine: AsyncEngine, *, floor: float = SIMILARITY_FLOOR) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.floor = floor

    async def store(
        self,
        agent_id: str,
        key: str,
        content: str,
        tags: str = "",
        embedding: Sequence[float] | None = None,
    ) -> None:
        """Insert or replace the memory ``key``."""
        vector = [float(x) for x in embedding] if embedding is not None else None
        values = {
            "agent_id": agent_id,
            "key": key,
            "content": content,
            "tags": tags,
            "embedding": vector,
            "embedding_model": EMBEDDING_MODEL if vector is not None else None,
        }
        stmt = insert(Memory).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Memory.agent_id, Memory.key],
            set_={
                "content": stmt.excluded.content,
                "tags": stmt.excluded.tags,
                "embedding": stmt.excluded.embedding,
                "embedding_model": stmt.excluded.embedding_model,
                "updated_at": func.now(),
            },
        )
        async with self._sessions.begin() as session:
            await session.execute(stmt)

    async def recall(
        self,
        agent_id: str,
        query: str,
        embedding: Sequence[float] | None = None,
        limit: int = DEFAULT_MEMORY_LIMIT,
    ) -> list[MemoryInfo]:
        """Best matches first; each returned memory's access count goes up by one."""
        async with self._sessions.begin() as session:
            keyword = (await session.scalars(memory_search(agent_id, query, CANDIDATES))).all()
            semantic: list[int] = []
            if embedding is not None:
                scored = await session.execute(
                    memory_similarity_search(
                        agent_id, embedding, model=EMBEDDING_MODEL, limit=CANDIDATES
                    )
                )
                semantic = [row.id for row, score in scored.all() if score >= self.floor]
            ranked = [mid for mid, _ in rrf_fuse([m.id for m in keyword], semantic)][:limit]
            if not ranked:
                return []
            await session.execute(
                update(Memory)
                .where(Memory.id.in_(ranked))
                .values(access_count=Memory.access_count + 1, last_accessed_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            rows = (
                await session.scalars(
                    select(Memory)
                    .where(Memory.id.in_(ranked))
                    .execution_options(populate_existing=True)
                )
            ).all()
        by_id = {row.id: row for row in rows}
        return [to_info(by_id[mid]) for mid in ranked if mid in by_id]

    async def list(self, agent_id: str) -> list[MemoryInfo]:
        """Every memory of the agent, most recently updated first."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(Memory)
                    .where(Memory.agent_id == agent_id)
                    .order_by(Memory.updated_at.desc(), Memory.id.desc())
                )
            ).all()
        return [to_info(row) for row in rows]

    async def delete(self, agent_id: str, key: str) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Memory)
                .where(Memory.agent_id == agent_id, Memory.key == key)
                .returning(Memory.id)
            )
            return len(result.all())

    async def forget(self, agent_id: str, query: str) -> int:
        """Delete every memory matching ``query`` (full text); how many went."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(Memory)
                .where(
                    Memory.agent_id == agent_id,
                    Memory.search.bool_op("@@")(websearch_query(query)),
                )
                .returning(Memory.id)
            )
            return len(result.all())
