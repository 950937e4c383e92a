"""What changed between two configs, by dotted key, and what needs a restart."""

from __future__ import annotations

from praktor_common.config.diff import NON_RELOADABLE, diff_configs
from praktor_common.config.loader import load_config_text
from praktor_common.config.model import PraktorConfig

BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}

BASE = """
telegram: {token: t1, allow_from: [1], main_chat_id: 10}
defaults: {model: m1}
agents:
  a: {description: first, env: {X: '1'}}
  b: {description: second}
router: {default_agent: a}
"""


def load(text: str) -> PraktorConfig:
    return load_config_text(text, BASE_ENV)


def diff_to(text: str):  # type: ignore[no-untyped-def]
    return diff_configs(load(BASE), load(text))


def test_identical_configs_have_no_changes() -> None:
    diff = diff_to(BASE)
    assert not diff.has_changes
    assert diff.changed_keys == ()
    assert diff.summary() == "no changes"


def test_agent_added_and_removed_are_named_once() -> None:
    diff = diff_to(BASE.replace("  b: {description: second}", "  c: {model: x}"))
    assert diff.agents_added == ("c",)
    assert diff.agents_removed == ("b",)
    assert diff.agents_changed == ()
    assert diff.changed_keys == ("agents.b", "agents.c")
    assert diff.summary() == "agents added: c; agents removed: b"


def test_agent_changed_by_a_field_or_its_env() -> None:
    diff = diff_to(BASE.replace("first", "1st").replace("X: '1'", "X: '2', Y: '3'"))
    assert diff.agents_changed == ("a",)
    assert diff.changed_keys == ("agents.a.description", "agents.a.env.X", "agents.a.env.Y")
    assert diff.agents_touched


def test_agent_changed_by_its_security_override() -> None:
    diff = diff_to(
        BASE.replace(
            "  b: {description: second}", "  b: {description: second, security: {memory_mb: 1}}"
        )
    )
    assert diff.agents_changed == ("b",)
    assert diff.touches("agents.b.security")


def test_defaults_changed() -> None:
    diff = diff_to(BASE.replace("model: m1", "model: m2"))
    assert diff.defaults_changed
    assert diff.changed_keys == ("defaults.model",)
    assert not diff.agents_touched


def test_router_scheduler_main_chat_allow_list_and_timezone() -> None:
    assert diff_to(BASE.replace("default_agent: a", "default_agent: b")).router_changed
    assert diff_to(BASE + "scheduler: {poll_interval: 1m}\n").scheduler_changed
    assert diff_to(BASE.replace("main_chat_id: 10", "main_chat_id: 11")).main_chat_id_changed
    assert diff_to(BASE.replace("allow_from: [1]", "allow_from: [1, 2]")).allow_from_changed
    assert diff_to(BASE + "timezone: Asia/Tokyo\n").timezone_changed


def test_reloadable_changes_are_not_listed_as_needing_a_restart() -> None:
    diff = diff_to(BASE.replace("allow_from: [1]", "allow_from: [2]") + "web: {auth: pw}\n")
    assert diff.changed_keys == ("telegram.allow_from", "web.auth")
    assert diff.non_reloadable == ()
    assert diff.has_reloadable_changes


def test_token_and_port_are_exactly_two_non_reloadable_entries() -> None:
    diff = diff_to(BASE.replace("token: t1", "token: t2") + "web: {port: 9090}\n")
    assert diff.non_reloadable == ("telegram.token", "web.port")
    assert not diff.has_reloadable_changes


def test_every_non_reloadable_key_is_reported_by_name() -> None:
    changed = (
        BASE.replace("token: t1", "token: t2")
        + "data_dir: /elsewhere\n"
        + "nats: {data_dir: /js}\n"
        + "web: {port: 9090, enabled: false}\n"
        + "model_proxy: {port: 9999}\n"
        + "vault: {passphrase: new}\n"
        + "agentmail: {api_key: new}\n"
        + "ports: {health: {router: 9200}}\n"
    ).replace("telegram: {", "telegram: {api_base_url: 'http://bots', ")
    diff = diff_to(changed)
    assert diff.non_reloadable == (
        "agentmail.api_key",
        "data_dir",
        "model_proxy.port",
        "nats.data_dir",
        "ports.health.router",
        "telegram.api_base_url",
        "telegram.token",
        "vault.passphrase",
        "web.enabled",
        "web.port",
    )
    assert all(
        any(k == p or k.startswith(p + ".") for p in NON_RELOADABLE) for k in diff.non_reloadable
    )


def test_secrets_are_compared_by_value_and_reported_by_name_only() -> None:
    diff = diff_to(BASE + "speech: {api_key: sk-NEW}\n")
    assert diff.changed_keys == ("speech.api_key",)
    assert "sk-NEW" not in diff.summary()
    assert diff.summary() == "changed: speech.api_key"


def test_touches_matches_whole_key_segments() -> None:
    diff = diff_to(BASE + "web: {port: 9090}\n")
    assert diff.touches("web")
    assert diff.touches("web.port")
    assert not diff.touches("web.po")
