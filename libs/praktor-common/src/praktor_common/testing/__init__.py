"""pytest helpers shared by every package's tests.

The root ``conftest.py`` lists the fixture modules in ``pytest_plugins``:

* :mod:`praktor_common.testing.nats`: a private NATS server with auth;
* :mod:`praktor_common.testing.postgres`: a private PostgreSQL server per test
  session (or ``$PRAKTOR_TEST_DATABASE_URL``) and a clean database per test
  (``database_url``, ``migrated_database_url``, ``migrated_engine``).
"""
