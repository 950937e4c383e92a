"""Redaction of secrets from everything an agent sends out (spec §10.5) — a hard barrier.

:class:`SecretRedactor` replaces every occurrence of each secret value by
``[REDACTED]``: the exact value, and the value written with different
whitespace (pretty-printed vs compact JSON, a key wrapped over lines). Values
shorter than 8 bytes are not secrets worth matching (they would shred normal
text). Redaction logs the secret's *name*, never its value.

Each form a secret may take on the way out is matched too: its base64 (whole,
or inside a longer base64 blob at any byte alignment; standard and URL-safe
alphabets) and its URL encoding (``%2F`` and ``%2f``, ``+`` for spaces). A
streamed snapshot whose end could be the start of any of these forms holds
that tail back until the next snapshot shows what follows.

Who knows which secrets an agent holds is a :class:`RedactorSource`:
:class:`AgentRedactors` (the agent's own vault secrets — everything global or
assigned to it — plus the model credentials), or
:class:`ModelCredentialRedactors` (the model API key and OAuth token only).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import quote, quote_plus

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
_HEX_ESCAPE: Final = re.compile(r"%[0-9A-F]{2}")


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


def base64_forms(value: str) -> tuple[str, ...]:
    """How ``value`` looks inside base64 text: whole, and at each of the three byte
    alignments inside a longer encoded blob (only the characters the secret fixes),
    in the standard and the URL-safe alphabet."""
    raw = value.encode()
    forms = {base64.b64encode(raw).decode("ascii")}
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + raw).decode("ascii").rstrip("=")
        start = -(-shift * 8 // 6)
        end = (shift + len(raw)) * 8 // 6
        forms.add(encoded[start:end])
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}
    return tuple(f for f in forms if len(f) >= MIN_SECRET_BYTES)


def url_encoded_forms(value: str) -> tuple[str, ...]:
    """``value`` percent-encoded as a URL path or query would carry it."""
    forms = {quote(value, safe=""), quote(value), quote_plus(value, safe="")}
    forms |= {_HEX_ESCAPE.sub(lambda m: m.group().lower(), f) for f in forms}
    forms.discard(value)
    return tuple(forms)


@dataclass(frozen=True)
class _Secret:
    name: str
    value: str
    pattern: re.Pattern[str] | None
    encoded: tuple[str, ...]
    """Base64 and URL-encoded forms, longest first."""

    @property
    def literals(self) -> tuple[str, ...]:
        """Every exact form a streamed tail could be the start of."""
        return (self.value, *self.encoded)


def _secret(name: str, value: str) -> _Secret:
    encoded = {*base64_forms(value), *url_encoded_forms(value)}
    encoded.discard(value)
    return _Secret(
        name,
        value,
        _tolerant_pattern(value),
        tuple(sorted(encoded, key=len, reverse=True)),
    )


class SecretRedactor:
    """Redacts a fixed set of named secret values, and their base64 and URL-encoded forms."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        usable = [
            _secret(name, value)
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
            for form in secret.encoded:
                if form in text:
                    text = text.replace(form, REDACTED)
                    hit = True
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
        """Length of the longest tail of ``text`` that is a proper prefix of a secret
        (in any of its forms)."""
        longest = 0
        for secret in self._secrets:
            for literal in secret.literals:
                for k in range(min(len(literal) - 1, len(text)), MIN_PARTIAL_CHARS - 1, -1):
                    if k <= longest:
                        break
                    if text.endswith(literal[:k]):
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


class SecretValues(Protocol):
    """The values of the vault secrets an agent may use, by secret name."""

    async def values_for(self, agent_id: str) -> Mapping[str, str]: ...


class AgentRedactors:
    """Each agent's output is cleaned of its own secrets and of the model credentials."""

    def __init__(self, config: ConfigSource, secrets: SecretValues) -> None:
        self._config = config
        self._secrets = secrets
        self._cached: dict[str, tuple[PraktorConfig, Mapping[str, str], SecretRedactor]] = {}

    async def redactor_for(self, agent_id: str) -> Redactor:
        values = await self._secrets.values_for(agent_id)
        config = self._config.current
        cached = self._cached.get(agent_id)
        if cached is not None and cached[0] is config and cached[1] is values:
            return cached[2]
        named = {f"vault:{name}": value for name, value in values.items()}
        redactor = SecretRedactor({**named, **model_credentials(config)})
        self._cached[agent_id] = (config, values, redactor)
        return redactor
