"""Every problem reads `<dotted.key>: <bad value> — <what is allowed>`, secrets masked."""

from __future__ import annotations

import pytest

from praktor_common.config.errors import ConfigError
from praktor_common.config.loader import load_config_text

BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}
AGENT = "agents: {a: {}}\nrouter: {default_agent: a}\n"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, BASE_ENV)
    return [str(problem) for problem in caught.value.problems]


CASES = [
    # spec §2.4
    (
        "agents: {a: {}, b: {}}\n",
        "router.default_agent: '' — required when agents are defined; name one of: a, b",
    ),
    (
        "agents: {a: {}}\nrouter: {default_agent: b}\n",
        "router.default_agent: 'b' — must name an agent under 'agents' (a)",
    ),
    (
        "router: {default_agent: b}\n",
        "router.default_agent: 'b' — must name an agent under 'agents' (none defined)",
    ),
    # unknown keys, at every level
    (
        "telegram: {tokn: x}\n",
        "telegram.tokn: unknown key (did you mean 'token'?) — allowed here: "
        "token, allow_from, main_chat_id, api_base_url",
    ),
    (
        "speach: {}\n",
        "speach: unknown key (did you mean 'speech'?) — allowed here: timezone, data_dir, "
        "telegram, defaults, agents, router, web, model_proxy, scheduler, vault, agentmail, "
        "speech, nats, ports",
    ),
    (
        AGENT.replace("a: {}", "a: {modle: x}"),
        "agents.a.modle: unknown key (did you mean 'model'?) — allowed here: description, "
        "model, image, claude_md, workspace, env, files, allowed_tools, nix_enabled, "
        "agentmail_inbox_id, security",
    ),
    (
        "defaults: {security: {memory: 5}}\n",
        "defaults.security.memory: unknown key (did you mean 'memory_mb'?) — allowed here: "
        "no_new_privileges, drop_capabilities, add_capabilities, pids_limit, memory_mb, cpus, "
        "tmpfs, readonly_rootfs",
    ),
    # types and ranges
    ("web: {port: 0}\n", "web.port: 0 — must be 1 or more"),
    ("web: {port: 65536}\n", "web.port: 65536 — must be 65535 or less"),
    ("web: {port: http}\n", "web.port: 'http' — must be a whole number"),
    ("web: {enabled: maybe}\n", "web.enabled: 'maybe' — must be true or false"),
    ("ports: {health: {router: -1}}\n", "ports.health.router: -1 — must be 1 or more"),
    (
        "model_proxy: {port: 8080}\n",
        "model_proxy.port: 8080 — already used by web.port; pick a free port",
    ),
    ("defaults: {max_running: 0}\n", "defaults.max_running: 0 — must be 1 or more"),
    (
        "defaults: {security: {pids_limit: -5}}\n",
        "defaults.security.pids_limit: -5 — must be 0 or more",
    ),
    ("defaults: {security: {cpus: -1}}\n", "defaults.security.cpus: -1 — must be 0 or more"),
    (
        AGENT.replace("a: {}", "a: {security: {memory_mb: -1}}"),
        "agents.a.security.memory_mb: -1 — must be 0 or more",
    ),
    ("telegram: {allow_from: [0]}\n", "telegram.allow_from[0]: 0 — must be 1 or more"),
    (
        "telegram: {allow_from: 5}\n",
        "telegram.allow_from: 5 — must be a list (one '- item' per line)",
    ),
    (
        "telegram: 5\n",
        "telegram: 5 — must be a mapping with keys: token, allow_from, main_chat_id, api_base_url",
    ),
    ("defaults: {image: ''}\n", "defaults.image: '' — must not be empty"),
    (
        "speech: {tts_mode: loud}\n",
        "speech.tts_mode: 'loud' — must be one of 'voice', 'always' or 'never'",
    ),
    (
        "telegram: {api_base_url: 'ftp://x'}\n",
        "telegram.api_base_url: 'ftp://x' — must be an http(s) base URL like "
        "'https://api.example.com'",
    ),
    (
        "timezone: Europe/Berln\n",
        "timezone: 'Europe/Berln' — is not a known time zone; use an IANA name like "
        "'Europe/Berlin', 'America/New_York' or 'UTC'",
    ),
    # durations
    (
        "defaults: {idle_timeout: 30}\n",
        'defaults.idle_timeout: 30 — a bare number has no unit; write e.g. "30s" '
        "(units: ns, us, ms, s, m, h)",
    ),
    (
        "defaults: {idle_timeout: 10 minutes}\n",
        "defaults.idle_timeout: '10 minutes' — is not a duration; write a duration like "
        '"30s", "10m" or "1h30m" (units: ns, us, ms, s, m, h)',
    ),
    (
        "defaults: {idle_timeout: -1m}\n",
        "defaults.idle_timeout: '-1m' — must not be negative; write a duration like "
        '"30s", "10m" or "1h30m"',
    ),
    (
        "scheduler: {poll_interval: 0s}\n",
        "scheduler.poll_interval: '0s' — must be more than 0s; write e.g. \"30s\"",
    ),
    # agents
    (
        "agents: {Coder: {}}\nrouter: {default_agent: coder}\n",
        "agents.Coder: 'Coder' as a key — is not a valid agent id; use 1-40 lowercase letters, "
        "digits and single hyphens, starting with a letter (e.g. 'coder' or 'home-assistant')",
    ),
    (
        "agents: {global: {}}\nrouter: {default_agent: global}\n",
        "agents.global.workspace: 'global' — 'global' is reserved for the instructions every "
        "agent shares; choose another workspace name",
    ),
    (
        AGENT.replace("a: {}", "a: {workspace: ../etc}"),
        "agents.a.workspace: '../etc' — must be 1-63 letters, digits, '_', '.' or '-', "
        "starting with a letter or digit",
    ),
    (
        AGENT.replace("a: {}", "a: {env: {1X: v}}"),
        "agents.a.env.1X: '1X' as a key — is not an environment variable name; use letters, "
        "digits and '_', not starting with a digit",
    ),
    (
        AGENT.replace("a: {}", "a: {files: [{secret: k, target: /x, mode: 0600}]}"),
        'agents.a.files[0].mode: 384 — must be an octal string in quotes, e.g. "0600" '
        "(unquoted, YAML reads 0600 as the number 384)",
    ),
    (
        AGENT.replace("a: {}", "a: {files: [{secret: k, target: /x, mode: '0999'}]}"),
        'agents.a.files[0].mode: \'0999\' — must be an octal file mode like "0600", "0644" '
        'or "0400"',
    ),
    (
        AGENT.replace("a: {}", "a: {files: [{secret: k, target: rel/x}]}"),
        "agents.a.files[0].target: 'rel/x' — must be an absolute file path inside the "
        "container, like '/home/praktor/.netrc'",
    ),
    (
        AGENT.replace("a: {}", "a: {files: [{target: /x}]}"),
        "agents.a.files[0].secret: missing — is required",
    ),
    (
        "defaults: {security: {add_capabilities: [CHOWN, ROOT]}}\n",
        "defaults.security.add_capabilities[1]: 'ROOT' — is not a Linux capability; use names "
        "like CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, NET_BIND_SERVICE "
        "(see `man 7 capabilities`)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1].split(":")[0] for c in CASES])
def test_validation_message(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_secret_values_are_masked_in_messages() -> None:
    found = problems("telegram: {token: [tg-SECRET]}\nvault: {passphrase: {x: vp-SECRET}}\n")
    assert found == [
        "telegram.token: '***' — must be text (put it in quotes)",
        "vault.passphrase: '***' — must be text (put it in quotes)",
    ]


def test_env_values_are_masked_in_messages() -> None:
    found = problems(AGENT.replace("a: {}", "a: {env: {TOKEN: [env-SECRET]}}"))
    assert found == ["agents.a.env.TOKEN: '***' — must be text (put it in quotes)"]


def test_every_problem_is_reported_at_once() -> None:
    text = (
        "telegram:\n  token: ${NOPE}\n  tokn: x\n"
        "web: {port: 0}\n"
        "agents: {a: {}}\n"
        "router: {default_agent: b}\n"
        "ports: {health: {router: 8091}}\n"
    )
    keys = [problem.split(":")[0] for problem in problems(text)]
    assert keys == [
        "telegram.token",
        "telegram.tokn",
        "web.port",
        "router.default_agent",
        "ports.health.router",
    ]


def test_the_error_names_the_file_and_says_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from praktor_common.config.loader import load_config

    path = tmp_path / "praktor.yaml"
    path.write_text("web: {port: 0}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, BASE_ENV)
    assert str(caught.value) == (
        f"{path} is invalid (1 problem); fix and try again:\n  - web.port: 0 — must be 1 or more"
    )
