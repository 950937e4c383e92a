"""Per-agent model-proxy tokens: minted at start, revoked at stop.

An agent reaches the model only through the model proxy, with a token of its
own in ``ANTHROPIC_API_KEY``. The orchestrator mints a fresh random token at
each start and keeps only its SHA-256; the model proxy asks
``svc.orchestrator.proxy_token`` with the SHA-256 of the token it was shown
and learns which *running* agent holds it (or none). Stopping an agent forgets
its token, so the proxy refuses it from then on.

The hashes are also written to ``<data dir>/run/agents/proxy-tokens.json``
(0600, the orchestrator's own directory; never an agent's): a restarted
orchestrator that adopts a running agent still vouches for its token. A hash
alone opens nothing: the proxy needs the token itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Final

import structlog

from praktor_common.contracts.orchestrator import ProxyTokenReply, ProxyTokenRequest

log = structlog.get_logger(__name__)

TOKEN_PREFIX: Final = "praktor-proxy-"  # noqa: S105 - a marker, not a secret
STATE_FILE: Final = "proxy-tokens.json"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ProxyTokens:
    """The hashes of the tokens of running agents (one per agent)."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self._path = state_dir / STATE_FILE if state_dir is not None else None
        self._by_agent: dict[str, str] = self._load()

    def mint(self, agent_id: str) -> str:
        """A new token for ``agent_id`` (replacing any earlier one)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._by_agent[agent_id] = token_sha256(token)
        self._save()
        return token

    def revoke(self, agent_id: str) -> bool:
        """Forget the agent's token; True if it had one."""
        if self._by_agent.pop(agent_id, None) is None:
            return False
        self._save()
        return True

    def keep_only(self, agent_ids: set[str]) -> None:
        """Forget the tokens of agents that are not running (after adopting leftovers)."""
        gone = set(self._by_agent) - agent_ids
        for agent_id in gone:
            del self._by_agent[agent_id]
        if gone:
            self._save()

    def agent_for(self, sha256: str) -> str | None:
        """The running agent holding the token with this SHA-256, if any."""
        for agent_id, known in self._by_agent.items():
            if secrets.compare_digest(known, sha256):
                return agent_id
        return None

    async def answer(self, request: ProxyTokenRequest) -> ProxyTokenReply:
        """``svc.orchestrator.proxy_token``: the model proxy checks a token."""
        return ProxyTokenReply(agent_id=self.agent_for(request.token_sha256))

    def _load(self) -> dict[str, str]:
        if self._path is None:
            return {}
        try:
            data = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("proxy token state unreadable; agents get new tokens", error=str(exc))
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self._by_agent, handle)
        try:
            os.replace(tmp, self._path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
