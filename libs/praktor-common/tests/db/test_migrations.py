"""The schema is created by Alembic migrations, and services refuse a schema they do not know."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from praktor_common.db.engine import make_engine
from praktor_common.db.migrate import (
    MIGRATIONS_DIR,
    SchemaError,
    check_schema,
    current_revisions,
    downgrade,
    head_revision,
    upgrade,
)
from praktor_common.db.models import Base

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {
    "agents",
    "messages",
    "scheduled_tasks",
    "task_runs",
    "swarm_runs",
    "swarm_run_steps",
    "secrets",
    "agent_secrets",
    "vault_meta",
    "agent_mcp_servers",
    "agent_marketplaces",
    "agent_plugins",
    "agent_skills",
    "memories",
    "chat_routes",
    "telegram_senders",
    "telegram_replies",
    "agent_token_usage",
}


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_apply_to_an_empty_database_and_the_schema_check_passes(
    database_url: str,
) -> None:
    await upgrade(database_url)

    engine = make_engine(database_url)
    try:
        await check_schema(engine)
        assert await current_revisions(engine) == (head_revision(),)
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
        assert tables == EXPECTED_TABLES | {"alembic_version"}
    finally:
        await engine.dispose()


async def test_the_migrated_schema_is_exactly_the_models(database_url: str) -> None:
    await upgrade(database_url)

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_models_declare_every_expected_table() -> None:
    assert set(Base.metadata.tables) == EXPECTED_TABLES


async def test_upgrade_twice_and_concurrently_is_harmless(database_url: str) -> None:
    await asyncio.gather(upgrade(database_url), upgrade(database_url))
    await upgrade(database_url)

    engine = make_engine(database_url)
    try:
        await check_schema(engine)
    finally:
        await engine.dispose()


async def test_upgrade_finds_its_scripts_from_any_working_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    await upgrade(database_url)

    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    engine = make_engine(database_url)
    try:
        await check_schema(engine)
    finally:
        await engine.dispose()


async def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
    database_url: str,
) -> None:
    await upgrade(database_url)
    await downgrade(database_url, "base")

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == {"alembic_version"}
        await upgrade(database_url)
        await check_schema(engine)
    finally:
        await engine.dispose()


async def test_check_schema_on_an_empty_database_says_to_run_praktor_migrate(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(SchemaError) as caught:
            await check_schema(engine)
    finally:
        await engine.dispose()

    message = str(caught.value)
    assert "database schema is at revision none" in message
    assert f"this Praktor knows {head_revision()}" in message
    assert "run `praktor migrate`" in message
    assert caught.value.current == ()
    assert caught.value.expected == head_revision()


async def test_check_schema_on_an_unknown_revision_says_the_database_is_newer(
    migrated_database_url: str,
) -> None:
    engine = make_engine(migrated_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
        with pytest.raises(SchemaError) as caught:
            await check_schema(engine)
    finally:
        await engine.dispose()

    message = str(caught.value)
    assert f"database schema is at revision f00dcafe but this Praktor knows {head_revision()}" in (
        message
    )
    assert "newer Praktor" in message
    assert caught.value.current == ("f00dcafe",)


async def test_check_schema_after_a_downgrade_says_to_run_praktor_migrate(
    migrated_database_url: str,
) -> None:
    await downgrade(migrated_database_url, "base")

    engine = make_engine(migrated_database_url)
    try:
        with pytest.raises(SchemaError, match=r"run `praktor migrate`"):
            await check_schema(engine)
    finally:
        await engine.dispose()
