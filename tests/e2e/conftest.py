"""Whole-suite fixtures: one ``praktor up`` per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Suite


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = Suite.create(tmp_path_factory.mktemp("suite"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_root(tmp_path: Path) -> Path:
    return tmp_path
