"""``praktor doctor``: what is configured, what is missing, and how to fix each."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from praktor_common.config.errors import ConfigError
from praktor_common.config.loader import load_config
from praktor_common.config.model import DefaultsConfig, PraktorConfig
from praktor_common.embedded.nats import NatsServerError, nats_server_binary
from praktor_common.settings import RuntimeSettings
from praktor_common.supervisor.engine import detect_engine, engine_sockets
from praktor_common.supervisor.runtime_choice import BUILD_HINT, image_present

Level = Literal["ok", "warn", "error"]


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    message: str
    fix: str = ""


def _config_findings(
    path: Path, environ: Mapping[str, str]
) -> tuple[list[Finding], PraktorConfig | None]:
    try:
        config = load_config(path, environ)
    except ConfigError as exc:
        return [
            Finding("error", "config", f"{path} is invalid:\n{exc}", "fix the keys named above")
        ], None
    where = str(path) if path.exists() else f"{path} (not created yet: built-in defaults in use)"
    found = [Finding("ok", "config", f"config valid: {where}")]
    return found, config


def _telegram(config: PraktorConfig) -> list[Finding]:
    if not config.telegram.token.get_secret_value():
        return [
            Finding(
                "warn",
                "telegram",
                "no Telegram bot token: the Telegram gateway stays disabled",
                "create a bot with @BotFather and set telegram.token in the config "
                "(or PRAKTOR_TELEGRAM_TOKEN)",
            )
        ]
    found = [Finding("ok", "telegram", "Telegram bot token set")]
    if not config.telegram.allow_from:
        found.append(
            Finding(
                "warn",
                "telegram",
                "telegram.allow_from is empty: nobody may talk to the bot yet",
                "add your Telegram user id to telegram.allow_from, or approve yourself with "
                "`praktor telegram approve ID` after messaging the bot",
            )
        )
    return found


def _speech(config: PraktorConfig) -> list[Finding]:
    if not config.telegram.token.get_secret_value():
        return []
    if config.speech.api_key.get_secret_value():
        return [Finding("ok", "speech", f"voice notes are transcribed by {config.speech.base_url}")]
    return [
        Finding(
            "warn",
            "speech",
            "no speech.api_key: voice notes get a reply that voice is not set up",
            "set speech.api_key (and speech.base_url for a server other than OpenAI) "
            "to transcribe voice notes",
        )
    ]


def _model(config: PraktorConfig) -> list[Finding]:
    key = config.defaults.anthropic_api_key.get_secret_value()
    token = config.defaults.oauth_token.get_secret_value()
    if key or token:
        kind = "API key" if key else "OAuth token"
        return [Finding("ok", "model", f"model credential set ({kind})")]
    return [
        Finding(
            "warn",
            "model",
            "no model credential: agents cannot answer",
            "set ANTHROPIC_API_KEY (or defaults.anthropic_api_key), or CLAUDE_CODE_OAUTH_TOKEN "
            "(or defaults.oauth_token)",
        )
    ]


def _engine(environ: Mapping[str, str], image: str) -> list[Finding]:
    socket = detect_engine(environ)
    if socket and image_present(socket, image):
        return [
            Finding("ok", "containers", f"container engine answers on {socket}; {image} is built")
        ]
    if socket:
        return [
            Finding(
                "warn",
                "containers",
                f"container engine answers on {socket} but the agent image {image} is not "
                "built: agents would run as plain processes, NOT isolated",
                f"run `{BUILD_HINT}` (minutes, once), then restart `praktor up`",
            )
        ]
    tried = ", ".join(engine_sockets(environ))
    return [
        Finding(
            "warn",
            "containers",
            f"no container engine answered (tried {tried}): agents would run as plain "
            "processes, NOT isolated",
            "install Docker or Podman (e.g. `podman system service --time=0 "
            "unix:///run/podman/podman.sock`) or set DOCKER_HOST",
        )
    ]


def _bus_and_database(settings: RuntimeSettings) -> list[Finding]:
    found: list[Finding] = []
    if settings.nats_url:
        found.append(Finding("ok", "nats", f"external NATS at {settings.nats_url}"))
    else:
        try:
            found.append(Finding("ok", "nats", f"embedded NATS available ({nats_server_binary()})"))
        except NatsServerError as exc:
            found.append(Finding("error", "nats", str(exc), "run `uv sync`"))
    if settings.database_url:
        found.append(Finding("ok", "database", "external PostgreSQL (PRAKTOR_DATABASE_URL)"))
    else:
        found.append(Finding("ok", "database", "embedded PostgreSQL (started by `praktor up`)"))
    return found


def diagnose(settings: RuntimeSettings, environ: Mapping[str, str] | None = None) -> list[Finding]:
    env = os.environ if environ is None else environ
    findings, config = _config_findings(settings.config_path(), env)
    if config is not None:
        findings += _telegram(config) + _speech(config) + _model(config)
    image = (config.defaults if config is not None else DefaultsConfig()).image
    findings += _engine(env, image) + _bus_and_database(settings)
    return findings
