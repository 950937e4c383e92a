"""Alembic environment for the Praktor schema.

Run through :mod:`praktor_common.db.migrate` (``praktor migrate``), which
passes an open connection in ``config.attributes["connection"]``. Without
one, it connects to ``config.attributes["url"]`` or ``$PRAKTOR_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from praktor_common.db.engine import async_url
from praktor_common.db.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or os.environ.get("PRAKTOR_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set PRAKTOR_DATABASE_URL")
    return str(url)


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy types in revision scripts."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_new_connection(url: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=async_url(_url()).set(drivername="postgresql"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_with_new_connection(_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
