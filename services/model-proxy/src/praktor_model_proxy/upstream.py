"""What the proxy lets through and how a request is rewritten for the model API.

Only the endpoints Claude Code uses are open: ``POST /v1/messages`` (with or
without ``?beta=true``), ``POST /v1/messages/count_tokens`` and the model list
(``GET /v1/models``, ``GET /v1/models/{id}``). Anything else is a 404.

The agent's own credential headers (its proxy token) are dropped and the real
credential added: the API key as ``x-api-key``, or the OAuth token as
``Authorization: Bearer`` with the ``oauth-2025-04-20`` beta that OAuth access
needs. Hop-by-hop headers are never forwarded; the upstream is asked for an
uncompressed answer so its usage can be read as it streams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from praktor_common.config import PraktorConfig

OAUTH_BETA: Final = "oauth-2025-04-20"
_ALLOWED: Final = (
    ("POST", re.compile(r"/v1/messages")),
    ("POST", re.compile(r"/v1/messages/count_tokens")),
    ("GET", re.compile(r"/v1/models")),
    ("GET", re.compile(r"/v1/models/[A-Za-z0-9._:@-]{1,200}")),
)
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED: Final = HOP_BY_HOP | {
    "host",
    "content-length",
    "accept-encoding",
    "x-api-key",
    "authorization",
    "cookie",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
}
_NOT_RETURNED: Final = HOP_BY_HOP | {"content-length", "content-encoding", "set-cookie"}


def allowed(method: str, path: str) -> bool:
    return any(method == m and pattern.fullmatch(path) for m, pattern in _ALLOWED)


def agent_token(headers: Mapping[str, str]) -> str | None:
    """The proxy token an agent presents: ``x-api-key`` or ``Authorization: Bearer``."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


@dataclass(frozen=True)
class Credential:
    """The install's model credential (never shown to an agent)."""

    api_key: str = field(default="", repr=False)
    oauth_token: str = field(default="", repr=False)

    @classmethod
    def of(cls, config: PraktorConfig) -> Credential:
        return cls(
            api_key=config.defaults.anthropic_api_key.get_secret_value(),
            oauth_token=config.defaults.oauth_token.get_secret_value(),
        )

    def __bool__(self) -> bool:
        return bool(self.api_key or self.oauth_token)


def upstream_url(base_url: str, path: str, query: str) -> str:
    url = base_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def _with_oauth_beta(values: Iterable[str]) -> str:
    betas = [b.strip() for v in values for b in v.split(",") if b.strip()]
    if OAUTH_BETA not in betas:
        betas.append(OAUTH_BETA)
    return ",".join(betas)


def upstream_headers(
    headers: Iterable[tuple[str, str]], credential: Credential
) -> list[tuple[str, str]]:
    """The agent's headers without its token and hop-by-hop ones, plus the real credential."""
    kept: list[tuple[str, str]] = []
    betas: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower in _NOT_FORWARDED:
            continue
        if lower == "anthropic-beta":
            betas.append(value)
            continue
        kept.append((name, value))
    kept.append(("Accept-Encoding", "identity"))
    if credential.api_key:
        kept.append(("x-api-key", credential.api_key))
        if betas:
            kept.append(("anthropic-beta", ",".join(betas)))
    else:
        kept.append(("Authorization", f"Bearer {credential.oauth_token}"))
        kept.append(("anthropic-beta", _with_oauth_beta(betas)))
    return kept


def response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers if n.lower() not in _NOT_RETURNED]
