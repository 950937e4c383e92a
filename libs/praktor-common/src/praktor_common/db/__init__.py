"""The Praktor database: models, engine, migrations, schema check, safe search.

One PostgreSQL database shared by the services; each table has one owning
service that writes it (see :mod:`praktor_common.db.models`). Typical use in a
service::

    engine = make_engine(settings.database_url, application_name="scheduler")
    await check_schema(engine)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        ...
"""

from praktor_common.db.engine import async_url, libpq_dsn, make_engine, session_factory
from praktor_common.db.migrate import SchemaError, check_schema, head_revision, upgrade
from praktor_common.db.models import Base, NaiveDatetimeError, utcnow

__all__ = [
    "Base",
    "NaiveDatetimeError",
    "SchemaError",
    "async_url",
    "check_schema",
    "head_revision",
    "libpq_dsn",
    "make_engine",
    "session_factory",
    "upgrade",
    "utcnow",
]
