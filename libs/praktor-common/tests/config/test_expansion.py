"""${VAR} is expanded inside YAML values only, after parsing; $$ is a literal $."""

from __future__ import annotations

import pytest

from praktor_common.config.errors import ConfigError
from praktor_common.config.expansion import expand_string
from praktor_common.config.loader import load_config_text
from praktor_common.config.model import PraktorConfig

BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}


def load(text: str, **env: str) -> PraktorConfig:
    return load_config_text(text, {**BASE_ENV, **env})


def problems_of(text: str, **env: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, **env)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        ("${A}", {"A": ""}, ""),
        ("$$", {}, "$"),
        ("$${A}", {"A": "x"}, "${A}"),
        ("$$${A}", {"A": "x"}, "$x"),
        ("$$$${A}", {"A": "x"}, "$${A}"),
        ("pa$word", {}, "pa$word"),
        ("cost: 5$", {}, "cost: 5$"),
        ("$A", {"A": "x"}, "$A"),
        ("a$ b", {}, "a$ b"),
    ],
)
def test_expansion_golden_cases(text: str, env: dict[str, str], expected: str) -> None:
    assert expand_string(text, env) == (expected, [])


def test_a_variable_inside_a_value_is_expanded() -> None:
    config = load(
        "telegram:\n  token: bot-${BOT_TOKEN}\n  main_chat_id: ${CHAT}\n",
        BOT_TOKEN="123:abc",
        CHAT="-1001",
    )
    assert config.telegram.token.get_secret_value() == "bot-123:abc"
    assert config.telegram.main_chat_id == -1001


def test_an_unset_variable_is_an_error_naming_the_key() -> None:
    assert problems_of("telegram:\n  token: ${BOT_TOKEN}\n") == [
        "telegram.token: environment variable BOT_TOKEN is not set; set it, "
        "or write $$ for a literal $"
    ]


def test_the_key_of_an_unset_variable_includes_list_positions() -> None:
    text = (
        "agents:\n  a:\n    files:\n      - {secret: '${S}', target: /x}\n"
        "router: {default_agent: a}\n"
    )
    assert problems_of(text) == [
        "agents.a.files[0].secret: environment variable S is not set; set it, "
        "or write $$ for a literal $"
    ]


def test_every_unset_variable_is_reported() -> None:
    problems = problems_of("web:\n  auth: ${PW}\nvault:\n  passphrase: ${VP}\n")
    assert [problem.split(":")[0] for problem in problems] == ["web.auth", "vault.passphrase"]


def test_a_dollar_in_a_password_stays() -> None:
    config = load("web:\n  auth: 'pa$$w0rd$'\nvault:\n  passphrase: s3cr$t\n")
    assert config.web.auth.get_secret_value() == "pa$w0rd$"
    assert config.vault.passphrase.get_secret_value() == "s3cr$t"


def test_values_are_expanded_after_parsing_so_yaml_syntax_in_a_value_is_harmless() -> None:
    config = load("agents:\n  a:\n    description: ${D}\nrouter: {default_agent: a}\n", D="x: [y")
    assert config.agents["a"].description == "x: [y"


def test_keys_are_not_expanded() -> None:
    problems = problems_of("agents:\n  ${AGENT}: {}\n", AGENT="coder")
    assert problems[0].startswith("agents.${AGENT}: '${AGENT}' as a key — is not a valid agent id")


@pytest.mark.parametrize("reference", ["${1A}", "${A", "${}", "${A-B}"])
def test_a_malformed_reference_is_an_error_naming_the_key(reference: str) -> None:
    problems = problems_of(f"web:\n  auth: 'x{reference}'\n", A="a")
    assert len(problems) == 1
    assert problems[0].startswith("web.auth: ")
    assert "is not a variable reference; write ${NAME}, or $$ for a literal $" in problems[0]


def test_a_variable_can_fill_a_number_or_a_boolean() -> None:
    config = load("web:\n  enabled: ${ON}\n  port: ${PORT}\n", ON="false", PORT="9090")
    assert config.web.enabled is False
    assert config.web.port == 9090
