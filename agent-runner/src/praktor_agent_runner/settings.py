"""The runner's environment contract, read once at start and validated.

The orchestrator starts ``python -m praktor_agent_runner`` (or the
``praktor-agent-runner`` script) with:

==============================  ==========================================================
``PRAKTOR_AGENT_ID``            required; the agent (a valid agent id)
``PRAKTOR_NATS_URL``            required; ``nats://host:port`` (comma-separated list allowed)
``PRAKTOR_NATS_CREDS``          required; the agent's minted ``.creds`` file
``PRAKTOR_WORKSPACE``           required; the workspace directory (AGENT.md, CLAUDE.md, uploads/)
``PRAKTOR_GLOBAL_DIR``          required; read-only directory with the global CLAUDE.md, USER.md
``HOME``                        required; the agent's own home (Claude config in ``$HOME/.claude``)
``PRAKTOR_MODEL``               optional; the Claude model (the CLI's default when unset)
``ANTHROPIC_BASE_URL``          optional; where the model API is (later: the model proxy)
``ANTHROPIC_API_KEY``           one of these three is required: the model credential
``CLAUDE_CODE_OAUTH_TOKEN``     (later: a per-agent model-proxy token)
``ANTHROPIC_AUTH_TOKEN``
``PRAKTOR_SESSION_ID``          optional; a Claude session id (UUID) to resume
``PRAKTOR_ALLOWED_TOOLS``       optional; JSON list of built-in tools (``[]`` or unset: all)
``PRAKTOR_MAX_TURNS``           optional; default 200
``PRAKTOR_MAX_PARALLEL_TASKS``  optional; default 3
``TZ``                          optional; passed to Claude Code
``PRAKTOR_INSTALL_ID``          optional; logged with every line
``PRAKTOR_LOG_LEVEL`` / ``PRAKTOR_LOG_FORMAT``  optional; ``info`` / ``json``
``PRAKTOR_BROWSER_MCP``         optional; the browser's MCP server, ``off`` for none (browser.py)
``PRAKTOR_BROWSER_CHROMIUM``    optional; default ``/usr/bin/chromium``
==============================  ==========================================================

:func:`load_settings` reports every problem at once, each naming its variable.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlparse

from praktor_common.ids import InvalidAgentIdError, validate_agent_id

DEFAULT_MAX_TURNS: Final = 200
DEFAULT_MAX_PARALLEL_TASKS: Final = 3
CREDENTIAL_VARS: Final = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN")


class SettingsError(ValueError):
    """The environment does not describe a runnable agent; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the agent-runner cannot start:\n{lines}")


@dataclass(frozen=True)
class AgentSettings:
    """Everything the runner reads from its environment."""

    agent_id: str
    nats_url: str
    nats_creds: Path
    workspace: Path
    global_dir: Path
    home: Path
    model: str | None = None
    anthropic_base_url: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The model credential variables that are set (values never shown)."""
    session_id: str | None = None
    allowed_tools: tuple[str, ...] | None = None
    """Built-in tools Claude Code may use; ``None``: all of them."""
    max_turns: int = DEFAULT_MAX_TURNS
    max_parallel_tasks: int = DEFAULT_MAX_PARALLEL_TASKS
    timezone: str | None = None
    install_id: str | None = None
    log_level: str = "info"
    log_format: str = "json"

    @property
    def claude_config_dir(self) -> Path:
        """``$HOME/.claude``: Claude Code's settings, sessions and user memory."""
        return self.home / ".claude"


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def optional(self, name: str) -> str | None:
        return _blank_to_none(self.env.get(name))

    def required(self, name: str, what: str) -> str:
        value = self.optional(name)
        if value is None:
            self.problems.append(f"{name} is not set: {what}")
            return ""
        return value

    def directory(self, name: str, what: str) -> Path:
        raw = self.required(name, what)
        if not raw:
            return Path()
        path = Path(raw)
        if not path.is_absolute():
            self.problems.append(f"{name}={raw!r} must be an absolute path")
        elif not path.is_dir():
            self.problems.append(f"{name}={raw!r} is not a directory")
        return path

    def positive_int(self, name: str, default: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not a whole number")
            return default
        if value < 1:
            self.problems.append(f"{name}={raw!r} must be at least 1")
            return default
        return value


def _agent_id(reader: _Reader) -> str:
    raw = reader.required("PRAKTOR_AGENT_ID", "the agent this runner serves")
    if not raw:
        return ""
    try:
        return validate_agent_id(raw)
    except InvalidAgentIdError as exc:
        reader.problems.append(f"PRAKTOR_AGENT_ID: {exc}")
        return raw


def _nats_url(reader: _Reader) -> str:
    raw = reader.required("PRAKTOR_NATS_URL", "where the bus is (nats://host:port)")
    for server in (s.strip() for s in raw.split(",") if s.strip()):
        parsed = urlparse(server)
        if parsed.scheme not in ("nats", "tls", "ws", "wss") or not parsed.hostname:
            reader.problems.append(
                f"PRAKTOR_NATS_URL: {server!r} is not a NATS URL (nats://host:port)"
            )
    return raw


def _creds(reader: _Reader) -> Path:
    raw = reader.required("PRAKTOR_NATS_CREDS", "the agent's .creds file minted by the host")
    path = Path(raw)
    if raw and not path.is_file():
        reader.problems.append(f"PRAKTOR_NATS_CREDS={raw!r}: no such file")
    return path


def _home(reader: _Reader) -> Path:
    raw = reader.required("HOME", "the agent's own home directory")
    path = Path(raw)
    if raw and not path.is_absolute():
        reader.problems.append(f"HOME={raw!r} must be an absolute path")
    return path


def _base_url(reader: _Reader) -> str | None:
    raw = reader.optional("ANTHROPIC_BASE_URL")
    if raw is not None:
        parsed = urlparse(raw)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            reader.problems.append(f"ANTHROPIC_BASE_URL={raw!r} is not an http(s) URL")
    return raw


def _credentials(reader: _Reader) -> dict[str, str]:
    found = {name: value for name in CREDENTIAL_VARS if (value := reader.optional(name))}
    if not found:
        reader.problems.append(
            "no model credential: set ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN "
            "(or ANTHROPIC_AUTH_TOKEN for a bearer token)"
        )
    return found


def _session_id(reader: _Reader) -> str | None:
    raw = reader.optional("PRAKTOR_SESSION_ID")
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        reader.problems.append(f"PRAKTOR_SESSION_ID={raw!r} is not a Claude session id (a UUID)")
        return None


def parse_allowed_tools(raw: str | None) -> tuple[str, ...] | None:
    """``PRAKTOR_ALLOWED_TOOLS`` → the tool list, ``None`` for no restriction.

    A JSON list of tool names; blank names are dropped and a list left empty
    means no restriction (as upstream's empty ``ALLOWED_TOOLS``).
    """
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(
            f'PRAKTOR_ALLOWED_TOOLS={raw!r} is not JSON: use a list like ["Read", "WebSearch"]'
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"PRAKTOR_ALLOWED_TOOLS={raw!r} must be a JSON list of tool names")
    tools = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    return tools or None


def load_settings(env: Mapping[str, str]) -> AgentSettings:
    """Read and check the environment; :class:`SettingsError` lists every problem."""
    reader = _Reader(env)
    agent_id = _agent_id(reader)
    nats_url = _nats_url(reader)
    creds = _creds(reader)
    workspace = reader.directory("PRAKTOR_WORKSPACE", "the agent's workspace directory")
    global_dir = reader.directory("PRAKTOR_GLOBAL_DIR", "the directory of global CLAUDE.md/USER.md")
    home = _home(reader)
    base_url = _base_url(reader)
    credentials = _credentials(reader)
    session_id = _session_id(reader)
    try:
        allowed_tools = parse_allowed_tools(reader.optional("PRAKTOR_ALLOWED_TOOLS"))
    except ValueError as exc:
        reader.problems.append(str(exc))
        allowed_tools = None
    max_turns = reader.positive_int("PRAKTOR_MAX_TURNS", DEFAULT_MAX_TURNS)
    max_parallel = reader.positive_int("PRAKTOR_MAX_PARALLEL_TASKS", DEFAULT_MAX_PARALLEL_TASKS)
    if reader.problems:
        raise SettingsError(reader.problems)
    return AgentSettings(
        agent_id=agent_id,
        nats_url=nats_url,
        nats_creds=creds,
        workspace=workspace,
        global_dir=global_dir,
        home=home,
        model=reader.optional("PRAKTOR_MODEL"),
        anthropic_base_url=base_url,
        credentials=credentials,
        session_id=session_id,
        allowed_tools=allowed_tools,
        max_turns=max_turns,
        max_parallel_tasks=max_parallel,
        timezone=reader.optional("TZ"),
        install_id=reader.optional("PRAKTOR_INSTALL_ID"),
        log_level=reader.optional("PRAKTOR_LOG_LEVEL") or "info",
        log_format=reader.optional("PRAKTOR_LOG_FORMAT") or "json",
    )
