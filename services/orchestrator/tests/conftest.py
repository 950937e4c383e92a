"""Fixtures of the orchestrator's tests (the shared NATS / PostgreSQL ones come from the root)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.orchestrator.tests.harness import private_data_dir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory an agent user can be given a way into (not under pytest's tmp)."""
    with private_data_dir() as path:
        yield path
