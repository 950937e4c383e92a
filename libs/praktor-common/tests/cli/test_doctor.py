"""`praktor doctor` names what is missing and how to fix it."""

from __future__ import annotations

from pathlib import Path

from praktor_common.cli.doctor import Finding, diagnose
from praktor_common.settings import RuntimeSettings


def _by_topic(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.topic, []).append(finding)
    return grouped


def _settings(tmp_path: Path, config: str | None) -> RuntimeSettings:
    path = tmp_path / "praktor.yaml"
    if config is not None:
        path.write_text(config)
    return RuntimeSettings(data_dir=tmp_path, config=path)


def test_a_bare_install_is_told_about_the_token_the_model_key_and_isolation(
    tmp_path: Path,
) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/absent.sock"}
    findings = _by_topic(diagnose(_settings(tmp_path, None), env))
    assert findings["config"][0].level == "ok"
    assert "not created yet" in findings["config"][0].message
    telegram = findings["telegram"][0]
    assert telegram.level == "warn"
    assert "BotFather" in telegram.fix
    model = findings["model"][0]
    assert model.level == "warn"
    assert "ANTHROPIC_API_KEY" in model.fix
    containers = findings["containers"][0]
    assert containers.level == "warn"
    assert "NOT isolated" in containers.message


def test_configured_credentials_are_reported_present(tmp_path: Path) -> None:
    config = (
        "telegram:\n  token: '123:abc'\n  allow_from: [42]\ndefaults:\n  anthropic_api_key: sk-x\n"
    )
    findings = _by_topic(diagnose(_settings(tmp_path, config), {}))
    assert [f.level for f in findings["telegram"]] == ["ok"]
    assert findings["model"][0].level == "ok"
    assert "API key" in findings["model"][0].message


def test_an_empty_allow_list_is_a_warning_that_says_how_to_allow_yourself(tmp_path: Path) -> None:
    findings = _by_topic(diagnose(_settings(tmp_path, "telegram:\n  token: '1:a'\n"), {}))
    warning = findings["telegram"][1]
    assert warning.level == "warn"
    assert "allow_from" in warning.message


def test_an_invalid_config_is_an_error_naming_the_key(tmp_path: Path) -> None:
    findings = diagnose(_settings(tmp_path, "scheduler:\n  poll_interval: 30\n"), {})
    errors = [f for f in findings if f.level == "error"]
    assert errors
    assert "scheduler.poll_interval" in errors[0].message
