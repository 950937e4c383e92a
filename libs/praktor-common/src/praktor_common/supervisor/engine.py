"""Which agent runtime ``praktor up`` picks: docker when an engine answers, else process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx

CANDIDATE_SOCKETS = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
)


def engine_sockets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Docker-API sockets to try, the configured one first."""
    env = os.environ if environ is None else environ
    found: list[str] = []
    host = env.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        found.append(host.removeprefix("unix://"))
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        found.append(str(Path(runtime_dir) / "podman" / "podman.sock"))
        found.append(str(Path(runtime_dir) / "docker.sock"))
    found.extend(CANDIDATE_SOCKETS)
    return list(dict.fromkeys(found))


def engine_answers(socket_path: str, timeout: float = 1.0) -> bool:
    """True when a Docker-API engine answers ``/_ping`` on ``socket_path``."""
    if not Path(socket_path).exists():
        return False
    transport = httpx.HTTPTransport(uds=socket_path)
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            return client.get("http://engine/_ping").status_code == 200
    except httpx.HTTPError:
        return False


def detect_engine(environ: Mapping[str, str] | None = None) -> str | None:
    """The first socket whose engine answers, or None."""
    for path in engine_sockets(environ):
        if engine_answers(path):
            return path
    return None
