"""The async engine every service uses (SQLAlchemy 2 + asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

ASYNC_DRIVER = "postgresql+asyncpg"
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg"}


class DatabaseUrlError(ValueError):
    """A database URL that is not a PostgreSQL URL."""


def async_url(url: str | URL) -> URL:
    """``url`` with the asyncpg driver.

    Accepts ``postgresql://``, ``postgres://`` and ``postgresql+asyncpg://``.
    libpq's ``sslmode`` query parameter becomes asyncpg's ``ssl``.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername not in _POSTGRES_SCHEMES:
        raise DatabaseUrlError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use postgresql://user:password@host:port/database"
        )
    parsed = parsed.set(drivername=ASYNC_DRIVER)
    if "sslmode" in parsed.query:
        sslmode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
    return parsed


def libpq_dsn(url: str | URL) -> str:
    """``url`` as a plain ``postgresql://`` DSN, for ``asyncpg.connect`` or ``psql``."""
    parsed = async_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str | URL,
    *,
    application_name: str | None = None,
    pool_size: int = 5,
    max_overflow: int = 5,
    pool_timeout: float = 30.0,
    echo: bool = False,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine on ``url``.

    Sessions use time zone UTC (so SQL-side date arithmetic agrees with the
    Python side); connections are checked before use and recycled after
    30 minutes. ``application_name`` shows up in ``pg_stat_activity``.
    """
    server_settings = {"timezone": "UTC"}
    if application_name:
        server_settings["application_name"] = application_name
    connect_args: dict[str, Any] = {"server_settings": server_settings}
    connect_args.update(kwargs.pop("connect_args", {}))
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        echo=echo,
        connect_args=connect_args,
        **kwargs,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``; objects stay usable after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, expire_on_commit=False)
