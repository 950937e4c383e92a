"""Fixtures of the deploy tests: the helm binary (fetched once, cached in .tools/helm)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.helm import HelmUnavailableError, helm_binary


@pytest.fixture(scope="session")
def helm() -> Path:
    """helm v4; a test that needs it fails (never skips) when it cannot be fetched."""
    try:
        return helm_binary()
    except HelmUnavailableError as exc:
        pytest.fail(f"cannot get helm for the chart tests: {exc}", pytrace=False)
