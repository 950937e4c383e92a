"""The load pipeline: file → YAML → ${VAR} → env overrides → defaults → validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from praktor_common.config.errors import ConfigError
from praktor_common.config.loader import (
    config_from_json,
    config_sha256,
    load_config,
    load_config_text,
    to_json,
)
from praktor_common.config.model import PraktorConfig

BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}

FULL = """
telegram:
  token: "123:abc"
  allow_from: [111, 222]
  main_chat_id: -1001
defaults:
  image: my-agent:1
  max_running: 3
  idle_timeout: 1h30m
agents:
  coder:
    description: Writes code
    model: claude-sonnet-5
    env: {GIT_AUTHOR: me, DEBUG: true, LEVEL: 3}
    allowed_tools: [Read, Write]
  helper:
    workspace: shared
router:
  default_agent: coder
web:
  enabled: false
  port: 9090
"""


def load(text: str, **env: str) -> PraktorConfig:
    return load_config_text(text, {**BASE_ENV, **env})


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yaml", BASE_ENV)
    assert config.agents == {}
    assert config.web.port == 8080
    assert config.defaults.image == "praktor-agent:latest"


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "praktor.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_config(path, BASE_ENV).defaults.max_running == 5


def test_yaml_values_are_loaded(tmp_path: Path) -> None:
    path = tmp_path / "praktor.yaml"
    path.write_text(FULL, encoding="utf-8")
    config = load_config(path, BASE_ENV)
    assert config.telegram.token.get_secret_value() == "123:abc"
    assert config.telegram.allow_from == [111, 222]
    assert config.telegram.main_chat_id == -1001
    assert config.defaults.image == "my-agent:1"
    assert config.defaults.max_running == 3
    assert config.defaults.idle_timeout.total_seconds() == 5400
    assert config.web.enabled is False
    assert config.web.port == 9090
    coder = config.agents["coder"]
    assert coder.description == "Writes code"
    assert coder.model == "claude-sonnet-5"
    assert coder.env == {"GIT_AUTHOR": "me", "DEBUG": "true", "LEVEL": "3"}
    assert coder.allowed_tools == ["Read", "Write"]
    assert config.router.default_agent == "coder"


def test_the_workspace_defaults_to_the_agent_id() -> None:
    config = load(FULL)
    assert config.agents["coder"].workspace == "coder"
    assert config.agents["helper"].workspace == "shared"


def test_an_agent_with_an_empty_body_gets_defaults() -> None:
    config = load("agents:\n  solo:\nrouter: {default_agent: solo}\n")
    assert config.agents["solo"].workspace == "solo"
    assert config.model_for("solo") == "claude-opus-4-7"


def test_an_empty_section_means_defaults() -> None:
    assert load("telegram:\nweb:\n").web.port == 8080


@pytest.mark.parametrize(
    ("variable", "read"),
    [
        ("PRAKTOR_TELEGRAM_TOKEN", lambda c: c.telegram.token.get_secret_value()),
        ("ANTHROPIC_API_KEY", lambda c: c.defaults.anthropic_api_key.get_secret_value()),
        ("CLAUDE_CODE_OAUTH_TOKEN", lambda c: c.defaults.oauth_token.get_secret_value()),
        ("PRAKTOR_WEB_PASSWORD", lambda c: c.web.auth.get_secret_value()),
        ("PRAKTOR_AGENT_MODEL", lambda c: c.defaults.model),
        ("PRAKTOR_VAULT_PASSPHRASE", lambda c: c.vault.passphrase.get_secret_value()),
        ("AGENTMAIL_API_KEY", lambda c: c.agentmail.api_key.get_secret_value()),
        ("OPENAI_API_KEY", lambda c: c.speech.api_key.get_secret_value()),
    ],
)
def test_environment_overrides_win_over_the_file(variable: str, read) -> None:  # type: ignore[no-untyped-def]
    text = (
        "telegram: {token: file}\ndefaults: {anthropic_api_key: file, oauth_token: file, "
        "model: file}\nweb: {auth: file}\nvault: {passphrase: file}\n"
        "agentmail: {api_key: file}\nspeech: {api_key: file}\n"
    )
    assert read(load(text)) == "file"
    assert read(load(text, **{variable: "from-env"})) == "from-env"
    assert read(load(text, **{variable: ""})) == "file"


def test_web_port_override_is_parsed_as_a_number() -> None:
    assert load("web: {port: 8081}\n", PRAKTOR_WEB_PORT="9090").web.port == 9090


@pytest.mark.parametrize("value", ["abc", "80.5", "70000", "0"])
def test_a_web_port_override_that_is_not_a_port_is_an_error_naming_it(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load("", PRAKTOR_WEB_PORT=value)
    assert [str(p) for p in caught.value.problems] == [
        f"PRAKTOR_WEB_PORT: {value!r} — must be a port number 1-65535 (it sets web.port)"
    ]


def test_data_dir_from_the_environment_wins(tmp_path: Path) -> None:
    config = load("data_dir: /srv/praktor\n", PRAKTOR_DATA_DIR=str(tmp_path))
    assert config.data_dir == tmp_path
    assert config.jetstream_store_dir() == tmp_path / "nats" / "store"
    assert config.nats.data_dir == tmp_path / "nats" / "store"


def test_data_dir_defaults_to_the_users_data_home() -> None:
    assert load("").data_dir == Path("/home/tester/.local/share/praktor")
    assert load("", XDG_DATA_HOME="/xdg").data_dir == Path("/xdg/praktor")


def test_relative_paths_are_relative_to_the_file_and_to_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "praktor.yaml"
    path.parent.mkdir()
    path.write_text("data_dir: state\nnats:\n  data_dir: js\n", encoding="utf-8")
    config = load_config(path, BASE_ENV)
    assert config.data_dir == tmp_path / "etc" / "state"
    assert config.jetstream_store_dir() == tmp_path / "etc" / "state" / "js"


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "praktor.yaml"
    path.write_text("telegram:\n  token: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, BASE_ENV)
    assert str(path) in str(caught.value)
    assert "YAML error at line" in str(caught.value.problems[0])
    assert "fix the syntax" in str(caught.value.problems[0])


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="key 'port' is given twice in the same block; keep one"):
        load("web:\n  port: 8080\n  port: 8081\n")


def test_yaml_merge_keys_are_not_duplicates() -> None:
    text = (
        "agents:\n  a: &base {description: shared, nix_enabled: true}\n"
        "  b:\n    <<: *base\n    description: own\nrouter: {default_agent: a}\n"
    )
    config = load(text)
    assert config.agents["b"].description == "own"
    assert config.agents["b"].nix_enabled is True


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a mapping — start with sections like"):
        load("- just\n- a list\n")


def test_a_directory_instead_of_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path, BASE_ENV)


def test_json_round_trip_keeps_everything_including_secrets() -> None:
    config = load(FULL + "vault: {passphrase: 'p$ss'}\n")
    text = to_json(config)
    assert json.loads(text)["vault"]["passphrase"] == "p$ss"
    assert json.loads(text)["defaults"]["idle_timeout"] == "1h30m"
    again = config_from_json(text)
    assert again == config
    assert again.vault.passphrase.get_secret_value() == "p$ss"
    assert config_sha256(again) == config_sha256(config)


def test_json_is_canonical_so_agent_order_does_not_change_the_hash() -> None:
    one = load("agents: {a: {}, b: {}}\nrouter: {default_agent: a}\n")
    two = load("agents: {b: {}, a: {}}\nrouter: {default_agent: a}\n")
    assert config_sha256(one) == config_sha256(two)
    assert config_sha256(one) != config_sha256(load(""))


def test_invalid_json_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_json('{"web": {"port": 0}}')
    assert str(caught.value.problems[0]) == "web.port: 0 — must be 1 or more"
