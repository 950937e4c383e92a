"""Which agent runtime ``praktor up`` uses, and what the user is told about it.

``PRAKTOR_AGENT_RUNTIME`` asks for ``process``, ``docker`` or ``auto`` (the default).
``auto`` picks docker only when it will work: a Docker-API engine answers *and* the
agent image is on it. Otherwise agents run as processes and the note says how to get
containers (``praktor agent-image build``). ``docker`` asked for explicitly with no
engine is an error; with the image missing it goes on, and says so loudly (each
agent start then fails with the same advice, and whoever wrote is told).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote

import httpx

from praktor_common.supervisor.engine import detect_engine, engine_sockets

RUNTIMES: Final = ("process", "docker", "auto")
BUILD_HINT: Final = "praktor agent-image build"

Runtime = Literal["process", "docker"]


class RuntimeChoiceError(ValueError):
    """The runtime asked for cannot be used; the message says what to do."""


@dataclass(frozen=True)
class RuntimeChoice:
    runtime: Runtime
    engine_socket: str | None = None
    note: str = ""
    """What the user should know (printed by ``praktor up``, shown by ``praktor status``)."""

    @property
    def docker_host(self) -> str | None:
        return f"unix://{self.engine_socket}" if self.engine_socket else None


def image_present(socket_path: str, image: str, timeout: float = 5.0) -> bool:
    """True when the engine on ``socket_path`` has ``image`` (``GET /images/<name>/json``)."""
    transport = httpx.HTTPTransport(uds=socket_path)
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.get(f"http://engine/images/{quote(image, safe='')}/json")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def no_engine_note(environ: Mapping[str, str]) -> str:
    tried = ", ".join(engine_sockets(environ))
    return (
        f"no container engine answered (tried {tried}), so agents run as plain processes and "
        "are NOT isolated from each other; install Docker or Podman (or set DOCKER_HOST), "
        f"run `{BUILD_HINT}` and restart `praktor up`"
    )


def missing_image_note(image: str, socket_path: str) -> str:
    return (
        f"a container engine answers on {socket_path} but the agent image {image} is not on "
        "it, so agents run as plain processes and are NOT isolated from each other; run "
        f"`{BUILD_HINT}` (minutes, once) and restart `praktor up` to run them in containers"
    )


def choose_runtime(
    requested: str, image: str, environ: Mapping[str, str] | None = None
) -> RuntimeChoice:
    """The runtime for ``requested`` on this machine (blocking: probes the engine)."""
    env = os.environ if environ is None else environ
    wanted = requested.strip().lower() or "auto"
    if wanted not in RUNTIMES:
        raise RuntimeChoiceError(
            f"PRAKTOR_AGENT_RUNTIME={requested!r} is not a runtime; use process, docker or auto"
        )
    if wanted == "process":
        return RuntimeChoice("process")
    socket = detect_engine(env)
    if socket is None:
        if wanted == "docker":
            raise RuntimeChoiceError(
                "PRAKTOR_AGENT_RUNTIME=docker but no container engine answered (tried "
                f"{', '.join(engine_sockets(env))}); start Docker or Podman and set "
                "DOCKER_HOST, or use PRAKTOR_AGENT_RUNTIME=auto"
            )
        return RuntimeChoice("process", note=no_engine_note(env))
    if image_present(socket, image):
        return RuntimeChoice("docker", socket)
    if wanted == "docker":
        return RuntimeChoice(
            "docker",
            socket,
            note=(
                f"the agent image {image} is not on the container engine ({socket}): agents "
                f"cannot start until you run `{BUILD_HINT}`"
            ),
        )
    return RuntimeChoice("process", note=missing_image_note(image, socket))
