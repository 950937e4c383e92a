"""pytest helpers shared by every package's tests.

The root ``conftest.py`` lists the fixture modules in ``pytest_plugins``:

* :mod:`praktor_common.testing.postgres`: a private PostgreSQL server per test
  session and a fresh database per test (``database_url``,
  ``migrated_database_url``).
"""
