"""Redaction of secrets from everything an agent sends out (spec §10.5) — a hard barrier.

:class:`SecretRedactor` replaces every occurrence of each secret value by
``[REDACTED]``: the exact value, and the value written with different
whitespace (pretty-printed vs compact JSON, a key wrapped over lines). Values
shorter than 8 bytes are not secrets worth matching (they would shred normal
text). Redaction logs the secret's *name*, never its value.

Who knows which secrets an agent holds is a :class:`RedactorSource`: for now
:class:`ModelCredentialRedactors` (the model API key and OAuth token from the
config); the vault adds each agent's own secrets behind the same interface.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

import structlog

if TYPE_CHECKING:
    from praktor_common.config import PraktorConfig

log = structlog.get_logger(__name__)

REDACTED: Final = "[REDACTED]"
MIN_SECRET_BYTES: Final = 8
MIN_PARTIAL_CHARS: Final = 3
"""A streamed snapshot ending in this many characters of a secret holds them back."""
_WHITESPACE: Final = " \t\r\n"
_WS_RUN: Final = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True)
class Redaction:
    """Redacted text and the names of the secrets that were found in it."""

    text: str
    names: tuple[str, ...] = ()


class Redactor(Protocol):
    """Removes the secrets of one agent from text."""

    def redact(self, text: str) -> Redaction:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        ...

    def redact_snapshot(self, text: str) -> Redaction:
        """Like :meth:`redact`, for a streamed snapshot that may end inside a secret:
        a tail that starts a secret is held back until the next snapshot."""
        ...


class RedactorSource(Protocol):
    """Which redactor applies to an agent's output."""

    async def redactor_for(self, agent_id: str) -> Redactor: ...


def normalize_whitespace(value: str) -> str:
    """Trimmed, every run of space/tab/CR/LF collapsed to one space."""
    return _WS_RUN.sub(" ", value.strip(" \t\r\n"))


def _tolerant_pattern(value: str) -> re.Pattern[str] | None:
    """The value's characters in order, any whitespace allowed between them."""
    normalized = normalize_whitespace(value)
    if len(normalized.encode()) < MIN_SECRET_BYTES:
        return None
    chars = [c for c in normalized if c not in _WHITESPACE]
    return re.compile("[ \t\r\n]*".join(re.escape(c) for c in chars))


@dataclass(frozen=True)
class _Secret:
    name: str
    value: str
    pattern: re.Pattern[str] | None


class SecretRedactor:
    """Redacts a fixed set of named secret values."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        usable = [
            _Secret(name, value, _tolerant_pattern(value))
            for name, value in secrets.items()
            if len(value.encode()) >= MIN_SECRET_BYTES
        ]
        # Longer values first: a secret that contains another is replaced whole.
        self._secrets = sorted(usable, key=lambda s: len(s.value), reverse=True)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self._secrets)

    def redact(self, text: str) -> Redaction:
        found: list[str] = []
        for secret in self._secrets:
            hit = False
            if secret.value in text:
                text = text.replace(secret.value, REDACTED)
                hit = True
            if secret.pattern is not None:
                text, count = secret.pattern.subn(REDACTED, text)
                hit = hit or count > 0
            if hit:
                found.append(secret.name)
        if found:
            log.warning("secret redacted from agent output", secrets=found)
        return Redaction(text, tuple(found))

    def redact_snapshot(self, text: str) -> Redaction:
        result = self.redact(text)
        cut = self._partial_tail(result.text)
        if cut == 0:
            return result
        return Redaction(result.text[:-cut], result.names)

    def _partial_tail(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of a secret."""
        longest = 0
        for secret in self._secrets:
            for k in range(min(len(secret.value) - 1, len(text)), MIN_PARTIAL_CHARS - 1, -1):
                if k <= longest:
                    break
                if text.endswith(secret.value[:k]):
                    longest = k
                    break
        return longest


def model_credentials(config: PraktorConfig) -> dict[str, str]:
    """The install-wide model credentials (spec §10.5 step 3), by config key."""
    values = {
        "defaults.anthropic_api_key": config.defaults.anthropic_api_key.get_secret_value(),
        "defaults.oauth_token": config.defaults.oauth_token.get_secret_value(),
    }
    return {name: value for name, value in values.items() if value}


class ConfigSource(Protocol):
    @property
    def current(self) -> PraktorConfig: ...


class ModelCredentialRedactors:
    """Every agent's output is cleaned of the model credentials of the current config."""

    def __init__(self, config: ConfigSource) -> None:
        self._config = config
        self._cached: tuple[PraktorConfig, SecretRedactor] | None = None

    async def redactor_for(self, agent_id: str) -> Redactor:
        return self._current()

    def _current(self) -> SecretRedactor:
        config = self._config.current
        if self._cached is None or self._cached[0] is not config:
            self._cached = (config, SecretRedactor(model_credentials(config)))
        return self._cached[1]
