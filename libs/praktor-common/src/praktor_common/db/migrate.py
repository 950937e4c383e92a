"""Applying and checking the schema (Alembic, scripts shipped inside the package).

``praktor migrate`` calls :func:`upgrade`; every service calls
:func:`check_schema` at start and refuses to run against a schema it does not
know.

For developers, a new revision after changing :mod:`praktor_common.db.models`::

    uv run python -c "import asyncio; from praktor_common.db.migrate import revision; \\
        asyncio.run(revision('postgresql://…', 'add foo'))"

autogenerates against a database migrated to head; review and clean the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from praktor_common.db.engine import async_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Serialises concurrent `praktor migrate` runs (e.g. several replicas at once).
_MIGRATION_LOCK_KEY = 0x7072616B746F72  # "praktor"


class SchemaError(RuntimeError):
    """The database schema is not the one this Praktor knows."""

    def __init__(self, message: str, *, current: Sequence[str], expected: str) -> None:
        super().__init__(message)
        self.current = tuple(current)
        self.expected = expected


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["url"] = url
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this Praktor knows."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package ships at least one revision
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


def _engine(url: str) -> AsyncEngine:
    return create_async_engine(async_url(url), poolclass=NullPool)


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: the newest), in one transaction.

    Concurrent callers wait for each other; the later one finds nothing to do.
    """
    engine = _engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            await connection.run_sync(_run_command, "upgrade", revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"`` drops everything)."""
    engine = _engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            await connection.run_sync(_run_command, "downgrade", revision)
    finally:
        await engine.dispose()


def _run_command(connection: Connection, name: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if name == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def revision(url: str, message: str, *, autogenerate: bool = True) -> None:
    """Write a new revision script (for developers; compares models with the database)."""
    config = alembic_config(url)
    await asyncio.to_thread(command.revision, config, message=message, autogenerate=autogenerate)


async def current_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The revisions recorded in the database (empty when it was never migrated)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: tuple(MigrationContext.configure(sync).get_current_heads())
        )


async def check_schema(engine: AsyncEngine) -> None:
    """Raise :class:`SchemaError` unless the database is at exactly the newest known revision."""
    expected = head_revision()
    current = await current_revisions(engine)
    if current == (expected,):
        return
    shown = ", ".join(current) if current else "none (never migrated)"
    prefix = f"database schema is at revision {shown} but this Praktor knows {expected}"
    if not current:
        raise SchemaError(f"{prefix}: run `praktor migrate`", current=current, expected=expected)
    scripts = script_directory()
    unknown = [rev for rev in current if not _known(scripts, rev)]
    if unknown:
        raise SchemaError(
            f"{prefix}: the database was migrated by a newer Praktor (or belongs to "
            "something else); upgrade Praktor or point PRAKTOR_DATABASE_URL at the right "
            "database",
            current=current,
            expected=expected,
        )
    raise SchemaError(f"{prefix}: run `praktor migrate`", current=current, expected=expected)


def _known(scripts: ScriptDirectory, rev: str) -> bool:
    try:
        return scripts.get_revision(rev) is not None
    except (RevisionError, CommandError):
        return False
