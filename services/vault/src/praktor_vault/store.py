"""The vault's tables: ``secrets``, ``agent_secrets``, ``vault_meta`` (owner: vault).

Plain reads and writes inside a session the caller owns (one transaction per
operation); no crypto here, only sealed bytes. A secret's id is its name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from praktor_common.db.models import Agent, AgentSecret, Secret, VaultMeta
from praktor_vault.crypto import Sealed

Lock = Literal["share", "update"] | None


@dataclass(frozen=True)
class StoredSecret:
    """A row of ``secrets`` with the agents it is assigned to (value still sealed)."""

    id: str
    name: str
    description: str
    kind: str
    filename: str | None
    sealed: Sealed
    is_global: bool
    agent_ids: tuple[str, ...]
    created_at: dt.datetime
    updated_at: dt.datetime


_COLUMNS = (
    Secret.id,
    Secret.name,
    Secret.description,
    Secret.kind,
    Secret.filename,
    Secret.value,
    Secret.nonce,
    Secret.is_global,
    Secret.created_at,
    Secret.updated_at,
)


def _stored(row: Any, agent_ids: Iterable[str]) -> StoredSecret:
    return StoredSecret(
        id=row.id,
        name=row.name,
        description=row.description,
        kind=row.kind,
        filename=row.filename,
        sealed=Sealed(ciphertext=bytes(row.value), nonce=bytes(row.nonce)),
        is_global=row.is_global,
        agent_ids=tuple(sorted(agent_ids)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _assignments(session: AsyncSession, secret_ids: Sequence[str]) -> dict[str, list[str]]:
    if not secret_ids:
        return {}
    rows = await session.execute(
        select(AgentSecret.secret_id, AgentSecret.agent_id).where(
            AgentSecret.secret_id.in_(secret_ids)
        )
    )
    found: dict[str, list[str]] = {}
    for secret_id, agent_id in rows:
        found.setdefault(secret_id, []).append(agent_id)
    return found


# --------------------------------------------------------------------------- secrets


async def get_secret(session: AsyncSession, name: str, *, lock: Lock = None) -> StoredSecret | None:
    stmt = select(*_COLUMNS).where(Secret.id == name)
    if lock == "update":
        stmt = stmt.with_for_update()
    elif lock == "share":
        stmt = stmt.with_for_update(read=True)
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    assigned = await _assignments(session, [row.id])
    return _stored(row, assigned.get(row.id, []))


async def list_secrets(session: AsyncSession, *, agent_id: str | None = None) -> list[StoredSecret]:
    """Secrets by name; with ``agent_id`` only those it may use (global or assigned)."""
    stmt = select(*_COLUMNS).order_by(Secret.name)
    if agent_id is not None:
        assigned = select(AgentSecret.secret_id).where(AgentSecret.agent_id == agent_id)
        stmt = stmt.where(or_(Secret.is_global, Secret.id.in_(assigned)))
    rows = list(await session.execute(stmt))
    assignments = await _assignments(session, [r.id for r in rows])
    return [_stored(r, assignments.get(r.id, [])) for r in rows]


async def existing_names(session: AsyncSession, names: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return set()
    rows = await session.execute(select(Secret.id).where(Secret.id.in_(wanted)))
    return set(rows.scalars())


async def insert_secret(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    sealed: Sealed,
    description: str = "",
    filename: str | None = None,
    is_global: bool = False,
) -> None:
    await session.execute(
        insert(Secret).values(
            id=name,
            name=name,
            description=description,
            kind=kind,
            filename=filename,
            value=sealed.ciphertext,
            nonce=sealed.nonce,
            is_global=is_global,
        )
    )


async def update_secret(session: AsyncSession, name: str, **changes: Any) -> None:
    """Change columns of one secret; ``sealed`` sets ``value`` and ``nonce``."""
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "sealed":
            values["value"] = value.ciphertext
            values["nonce"] = value.nonce
        else:
            values[key] = value
    values["updated_at"] = func.now()
    await session.execute(update(Secret).where(Secret.id == name).values(**values))


async def delete_secret(session: AsyncSession, name: str) -> bool:
    """Delete a secret (its assignments go with it); whether it existed."""
    result = await session.execute(delete(Secret).where(Secret.id == name).returning(Secret.id))
    return result.scalar_one_or_none() is not None


async def all_sealed(session: AsyncSession, *, lock: Lock = None) -> dict[str, Sealed]:
    """Every secret's sealed value by id (``lock='update'`` for a rotation's switch)."""
    stmt = select(Secret.id, Secret.value, Secret.nonce).order_by(Secret.id)
    if lock == "update":
        stmt = stmt.with_for_update()
    elif lock == "share":
        stmt = stmt.with_for_update(read=True)
    rows = await session.execute(stmt)
    return {id_: Sealed(ciphertext=bytes(value), nonce=bytes(nonce)) for id_, value, nonce in rows}


async def set_sealed(session: AsyncSession, name: str, sealed: Sealed) -> None:
    """Replace a secret's sealed value without touching anything else (re-encryption)."""
    await session.execute(
        update(Secret)
        .where(Secret.id == name)
        # keep updated_at: the column's onupdate would otherwise stamp it
        .values(value=sealed.ciphertext, nonce=sealed.nonce, updated_at=Secret.updated_at)
    )


async def count_secrets(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Secret))).scalar_one())


# --------------------------------------------------------------------------- assignments


async def existing_agents(session: AsyncSession, agent_ids: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(agent_ids))
    if not wanted:
        return set()
    rows = await session.execute(select(Agent.id).where(Agent.id.in_(wanted)))
    return set(rows.scalars())


async def assigned_names(session: AsyncSession, agent_id: str) -> set[str]:
    """Names of the secrets assigned to ``agent_id`` (global ones only if assigned too)."""
    rows = await session.execute(
        select(AgentSecret.secret_id).where(AgentSecret.agent_id == agent_id)
    )
    return set(rows.scalars())


async def assign(session: AsyncSession, agent_id: str, names: Iterable[str]) -> None:
    rows = [{"agent_id": agent_id, "secret_id": name} for name in dict.fromkeys(names)]
    if rows:
        await session.execute(insert(AgentSecret).values(rows).on_conflict_do_nothing())


async def unassign(session: AsyncSession, agent_id: str, names: Iterable[str]) -> None:
    await session.execute(
        delete(AgentSecret).where(
            AgentSecret.agent_id == agent_id, AgentSecret.secret_id.in_(list(names))
        )
    )


async def replace_agent_secrets(session: AsyncSession, agent_id: str, names: Iterable[str]) -> None:
    """Make ``names`` the agent's whole set of assigned secrets."""
    await session.execute(delete(AgentSecret).where(AgentSecret.agent_id == agent_id))
    await assign(session, agent_id, names)


async def replace_secret_agents(session: AsyncSession, name: str, agent_ids: Iterable[str]) -> None:
    """Make ``agent_ids`` the whole set of agents a secret is assigned to."""
    await session.execute(delete(AgentSecret).where(AgentSecret.secret_id == name))
    rows = [{"agent_id": agent_id, "secret_id": name} for agent_id in dict.fromkeys(agent_ids)]
    if rows:
        await session.execute(insert(AgentSecret).values(rows))


# --------------------------------------------------------------------------- vault_meta


async def get_meta(session: AsyncSession, key: str, *, lock: Lock = None) -> dict[str, Any] | None:
    stmt = select(VaultMeta.value).where(VaultMeta.key == key)
    if lock == "update":
        stmt = stmt.with_for_update()
    elif lock == "share":
        stmt = stmt.with_for_update(read=True)
    value: dict[str, Any] | None = (await session.execute(stmt)).scalar_one_or_none()
    return value


async def put_meta(session: AsyncSession, key: str, value: dict[str, Any]) -> None:
    stmt = insert(VaultMeta).values(key=key, value=value)
    stmt = stmt.on_conflict_do_update(
        index_elements=[VaultMeta.key], set_={"value": value, "updated_at": func.now()}
    )
    await session.execute(stmt)


async def add_meta(session: AsyncSession, key: str, value: dict[str, Any]) -> bool:
    """Insert ``key`` unless it exists; whether it was inserted."""
    stmt = insert(VaultMeta).values(key=key, value=value).on_conflict_do_nothing()
    result = await session.execute(stmt.returning(VaultMeta.key))
    return result.scalar_one_or_none() is not None


async def delete_meta(session: AsyncSession, key: str) -> bool:
    result = await session.execute(
        delete(VaultMeta).where(VaultMeta.key == key).returning(VaultMeta.key)
    )
    return result.scalar_one_or_none() is not None
