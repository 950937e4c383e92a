"""Environment variables that override YAML values (spec §2.3).

Each applies only when set and non-empty, after ``${VAR}`` expansion and
before validation. ``PRAKTOR_DATA_DIR`` is handled by the loader (it also
decides where relative paths point).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from praktor_common.config.errors import ConfigProblem, show_value

ENV_OVERRIDES: Final[tuple[tuple[str, str], ...]] = (
    ("PRAKTOR_TELEGRAM_TOKEN", "telegram.token"),
    ("ANTHROPIC_API_KEY", "defaults.anthropic_api_key"),
    ("CLAUDE_CODE_OAUTH_TOKEN", "defaults.oauth_token"),
    ("PRAKTOR_WEB_PASSWORD", "web.auth"),
    ("PRAKTOR_WEB_PORT", "web.port"),
    ("PRAKTOR_AGENT_MODEL", "defaults.model"),
    ("PRAKTOR_VAULT_PASSPHRASE", "vault.passphrase"),
    ("AGENTMAIL_API_KEY", "agentmail.api_key"),
    ("OPENAI_API_KEY", "speech.api_key"),
)
"""``(environment variable, dotted config key)``, applied in this order."""

_PORT_KEYS: Final = frozenset({"web.port"})


def apply_env_overrides(tree: dict[str, Any], environ: Mapping[str, str]) -> list[ConfigProblem]:
    """Set each overridden key in ``tree`` (in place); return problems with the variables."""
    problems: list[ConfigProblem] = []
    for variable, key in ENV_OVERRIDES:
        raw = environ.get(variable, "")
        if not raw:
            continue
        value: str | int = raw
        if key in _PORT_KEYS:
            try:
                value = int(raw.strip())
            except ValueError:
                value = 0
            if not 1 <= value <= 65535:
                problems.append(
                    ConfigProblem(
                        variable,
                        f"{show_value(raw)} — must be a port number 1-65535 (it sets {key})",
                    )
                )
                continue
        section_name, field = key.split(".")
        section = tree.setdefault(section_name, {})
        if section is None:
            section = tree[section_name] = {}
        if isinstance(section, dict):
            section[field] = value
        # else: the section itself is malformed; validation reports it.
    return problems
