"""The `praktor` command as a user meets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from praktor_common import __version__
from praktor_common.cli.main import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PRAKTOR_NATS_URL", "PRAKTOR_DATABASE_URL", "PRAKTOR_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PRAKTOR_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _text(output: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(output.split())


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"praktor {__version__}"


def test_an_unknown_service_names_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["service", "routr"])
    assert result.exit_code == 1
    assert "unknown service 'routr'" in _text(result.output)
    assert "router" in result.output
    assert "gateway-telegram" in result.output


def test_status_when_nothing_runs_says_how_to_start(env: Path) -> None:
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    assert "not running" in _text(result.output)
    assert "praktor up" in _text(result.output)
    as_json = CliRunner().invoke(app, ["status", "--json"])
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["running"] is False


def test_config_check_reports_the_bad_key(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = env / "praktor.yaml"
    config.write_text("web:\n  port: 70000\n")
    monkeypatch.setenv("PRAKTOR_CONFIG", str(config))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 1
    assert "web.port" in _text(result.output)


def test_config_check_accepts_a_valid_file(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = env / "praktor.yaml"
    config.write_text("web:\n  port: 8081\n")
    monkeypatch.setenv("PRAKTOR_CONFIG", str(config))
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "is valid" in _text(result.output)


def test_migrate_without_a_database_url_says_what_to_set(env: Path) -> None:
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert "PRAKTOR_DATABASE_URL" in _text(result.output)
