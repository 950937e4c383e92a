"""Defaults of every key, the security merge, and secrets that never show."""

from __future__ import annotations

from datetime import timedelta

from praktor_common.config.loader import load_config_text
from praktor_common.config.model import SERVICES, PraktorConfig, SecurityProfile

BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}


def load(text: str) -> PraktorConfig:
    return load_config_text(text, BASE_ENV)


def test_built_in_defaults() -> None:
    config = load("")
    assert config.telegram.token.get_secret_value() == ""
    assert config.telegram.allow_from == []
    assert config.telegram.main_chat_id == 0
    assert config.telegram.api_base_url == "https://api.telegram.org"
    assert config.defaults.image == "praktor-agent:latest"
    assert config.defaults.model == "claude-opus-4-7"
    assert config.defaults.model_api_base_url == "https://api.anthropic.com"
    assert config.defaults.max_running == 5
    assert config.defaults.idle_timeout == timedelta(minutes=10)
    assert config.router.default_agent == ""
    assert config.web.enabled is True
    assert config.web.port == 8080
    assert config.web.auth.get_secret_value() == ""
    assert config.model_proxy.port == 8091
    assert config.scheduler.poll_interval == timedelta(seconds=30)
    assert config.vault.passphrase.get_secret_value() == ""
    assert config.agentmail.api_key.get_secret_value() == ""
    assert config.speech.api_key.get_secret_value() == ""
    assert config.speech.base_url == "https://api.openai.com/v1"
    assert config.speech.tts_enabled is False
    assert config.speech.tts_mode == "voice"
    assert config.speech.tts_voice == "alloy"
    assert config.timezone == "UTC"


def test_default_security_is_the_balanced_profile() -> None:
    assert load("").defaults.security == SecurityProfile(
        no_new_privileges=True,
        drop_capabilities=True,
        add_capabilities=["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
        pids_limit=1024,
        memory_mb=0,
        cpus=0,
        tmpfs=True,
        readonly_rootfs=False,
    )


def test_default_ports_of_every_service() -> None:
    config = load("")
    assert {service: config.health_port(service) for service in SERVICES} == {
        "gateway-telegram": 9101,
        "router": 9102,
        "orchestrator": 9103,
        "scheduler": 9104,
        "swarm": 9105,
        "vault": 9106,
        "model-proxy": 9107,
        "web": 9108,
    }


def test_health_ports_are_keyed_by_service_name_and_configurable() -> None:
    config = load("ports:\n  health:\n    gateway_telegram: 9201\n")
    assert config.ports.health_ports()["gateway-telegram"] == 9201
    assert list(config.ports.health_ports()) == list(SERVICES)
    assert config.health_port("gateway_telegram") == 9201


AGENTS = """
defaults:
  security:
    pids_limit: 256
    add_capabilities: [CHOWN]
agents:
  plain: {}
  limited:
    security: {memory_mb: 512, cpus: 1.5}
  loose:
    security: {no_new_privileges: false, add_capabilities: [cap_net_raw, SETUID]}
router: {default_agent: plain}
"""


def test_an_agent_without_security_inherits_the_defaults() -> None:
    config = load(AGENTS)
    assert config.agents["plain"].security is None
    assert config.security_for("plain") == config.defaults.security


def test_agent_security_merges_over_the_defaults() -> None:
    config = load(AGENTS)
    limited = config.security_for("limited")
    assert (limited.memory_mb, limited.cpus) == (512, 1.5)
    assert limited.no_new_privileges is True
    assert limited.drop_capabilities is True
    assert limited.tmpfs is True
    assert limited.pids_limit == 256
    assert limited.add_capabilities == ["CHOWN"]


def test_a_list_given_by_the_agent_replaces_the_default_list() -> None:
    loose = load(AGENTS).security_for("loose")
    assert loose.no_new_privileges is False
    assert loose.add_capabilities == ["NET_RAW", "SETUID"]
    assert loose.pids_limit == 256


def test_model_and_image_fall_back_to_the_defaults() -> None:
    config = load("agents:\n  a: {model: m1, image: i1}\n  b: {}\nrouter: {default_agent: a}\n")
    assert (config.model_for("a"), config.image_for("a")) == ("m1", "i1")
    assert (config.model_for("b"), config.image_for("b")) == (
        "claude-opus-4-7",
        "praktor-agent:latest",
    )


def test_an_empty_allow_list_allows_nobody() -> None:
    assert load("").telegram.allows(111) is False
    assert load("telegram: {allow_from: [111]}").telegram.allows(111) is True
    assert load("telegram: {allow_from: [111]}").telegram.allows(222) is False


def test_secret_file_mode_is_octal() -> None:
    config = load(
        "agents:\n  a:\n    files:\n      - {secret: k, target: /etc/k, mode: '0644'}\n"
        "      - {secret: k, target: /etc/j}\nrouter: {default_agent: a}\n"
    )
    files = config.agents["a"].files
    assert (files[0].mode_bits, files[1].mode, files[1].mode_bits) == (0o644, "0600", 0o600)


def test_base_urls_are_kept_without_a_trailing_slash() -> None:
    config = load("telegram: {api_base_url: 'http://bot-api:8081/'}\n")
    assert config.telegram.api_base_url == "http://bot-api:8081"


WITH_SECRETS = """
telegram: {token: tg-SECRET-1}
defaults: {anthropic_api_key: sk-SECRET-2, oauth_token: oa-SECRET-3}
web: {auth: pw-SECRET-4}
vault: {passphrase: vp-SECRET-5}
agentmail: {api_key: am-SECRET-6}
speech: {api_key: sp-SECRET-7}
agents:
  a: {env: {TOKEN: env-SECRET-8}}
router: {default_agent: a}
"""


def test_secrets_never_appear_in_repr_str_or_json_dumps() -> None:
    config = load(WITH_SECRETS)
    shown = " ".join([repr(config), str(config), config.model_dump_json()])
    for number in range(1, 9):
        assert f"SECRET-{number}" not in shown
    assert config.vault.passphrase.get_secret_value() == "vp-SECRET-5"
    assert config.agents["a"].env["TOKEN"] == "env-SECRET-8"
