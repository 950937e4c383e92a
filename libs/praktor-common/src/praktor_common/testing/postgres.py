"""pytest fixtures: a private PostgreSQL server per test session, a fresh database per test.

Listed in the root ``conftest.py`` (``pytest_plugins``), so every package's
tests can ask for:

``postgres_server_url`` (session)
    URL of a server whose role may create databases:
    ``$PRAKTOR_TEST_DATABASE_URL`` when set, else a private
    :class:`~praktor_common.embedded.postgres.EmbeddedPostgres` (non-durable,
    in a temporary directory) started once per session.
``database_url`` (function)
    URL of a new empty database, dropped after the test.
``migrated_database_url`` (function)
    Same, with the Praktor schema at head. Cloned from a template migrated
    once per session, so it costs a ``CREATE DATABASE`` and not a migration.
``module_migrated_database_url`` (module)
    Same, shared by the tests of one module.
``migrated_engine`` (function, async)
    An :class:`~sqlalchemy.ext.asyncio.AsyncEngine` on
    ``module_migrated_database_url`` with every table emptied before the
    test: the cheap choice for tests that read and write rows. (Creating a
    database copies ~1000 files, which costs 0.05-0.5 s depending on the
    machine; emptying the tables costs ~25 ms.)

URLs are SQLAlchemy URLs with the asyncpg driver (``postgresql+asyncpg://``);
:func:`praktor_common.db.engine.libpq_dsn` turns one into a plain DSN for
``asyncpg.connect``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from praktor_common.db.engine import async_url, make_engine
from praktor_common.db.migrate import upgrade
from praktor_common.db.models import Base
from praktor_common.embedded.ports import free_port
from praktor_common.embedded.postgres import EmbeddedPostgres

TEST_DATABASE_URL_ENV = "PRAKTOR_TEST_DATABASE_URL"

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh loop in another thread.

    Safe from sync fixtures whether or not an event loop runs in this thread.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def database_url_for(server_url: str, database: str) -> str:
    """``server_url`` pointing at ``database`` instead."""
    return async_url(server_url).set(database=database).render_as_string(hide_password=False)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _admin_engine(server_url: str) -> AsyncEngine:
    return create_async_engine(
        async_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


async def _execute(server_url: str, *statements: str) -> None:
    engine = _admin_engine(server_url)
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


async def _create(server_url: str, name: str, template: str) -> None:
    engine = _admin_engine(server_url)
    try:
        async with engine.connect() as connection:
            statement = f"CREATE DATABASE {_quote_ident(name)} TEMPLATE {_quote_ident(template)}"
            # FILE_COPY (the only strategy before PostgreSQL 15) copies a small
            # database several times faster than the newer default, WAL_LOG.
            version = connection.dialect.server_version_info or (0,)
            if version >= (15,):
                statement += " STRATEGY FILE_COPY"
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def create_database(server_url: str, name: str, *, template: str = "template1") -> str:
    """Create database ``name`` on the server as a copy of ``template``; return its URL."""
    run_sync(_create(server_url, name, template))
    return database_url_for(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting whoever is still connected."""
    run_sync(_execute(server_url, f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)"))


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for this test session (see the module docstring)."""
    external = os.environ.get(TEST_DATABASE_URL_ENV)
    if external:
        yield async_url(external).render_as_string(hide_password=False)
        return
    # Not under pytest's basetemp: when we run as root the server runs as an
    # unprivileged user, which must be able to reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="praktor-test-pg-"))
    server = EmbeddedPostgres(
        root / "data",
        port=free_port(),
        password=secrets.token_urlsafe(24),
        durable=False,
        log_file=root / "server.log",
    )
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    name = _unique_name("praktor_test")
    url = create_database(postgres_server_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture(scope="session")
def _praktor_migrated_template(postgres_server_url: str) -> Iterator[str]:
    name = _unique_name("praktor_template")
    url = create_database(postgres_server_url, name)
    try:
        run_sync(upgrade(url))
        # Nobody (autovacuum included) may connect to the template: CREATE
        # DATABASE would wait for them to leave.
        run_sync(
            _execute(
                postgres_server_url, f"ALTER DATABASE {_quote_ident(name)} ALLOW_CONNECTIONS false"
            )
        )
        yield name
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture
def migrated_database_url(
    postgres_server_url: str, _praktor_migrated_template: str
) -> Iterator[str]:
    """A new database with the Praktor schema at head, for one test; dropped afterwards."""
    name = _unique_name("praktor_test")
    url = create_database(postgres_server_url, name, template=_praktor_migrated_template)
    try:
        yield url
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture(scope="module")
def module_migrated_database_url(
    postgres_server_url: str, _praktor_migrated_template: str
) -> Iterator[str]:
    """A database with the Praktor schema at head, shared by the tests of one module."""
    name = _unique_name("praktor_test")
    url = create_database(postgres_server_url, name, template=_praktor_migrated_template)
    try:
        yield url
    finally:
        drop_database(postgres_server_url, name)


def _empty_all_tables_sql() -> str:
    tables = ", ".join(_quote_ident(name) for name in Base.metadata.tables)
    return f"TRUNCATE {tables} RESTART IDENTITY CASCADE"


@pytest.fixture
async def migrated_engine(module_migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the module's migrated database, every table emptied first.

    Much cheaper than a new database per test (an empty-tables ``TRUNCATE``
    instead of copying a database), for tests that read and write rows. A test
    that changes the schema itself should use ``migrated_database_url``.
    """
    engine = make_engine(module_migrated_database_url, pool_size=2, max_overflow=2)
    try:
        async with engine.begin() as connection:
            # Whatever an earlier test left connected must not hold locks.
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            await connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            await connection.execute(text(_empty_all_tables_sql()))
        yield engine
    finally:
        await engine.dispose()
