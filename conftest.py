"""Fixtures shared by every package's tests: a private NATS with auth and a private PostgreSQL."""

pytest_plugins = ["praktor_common.testing.nats", "praktor_common.testing.postgres"]
