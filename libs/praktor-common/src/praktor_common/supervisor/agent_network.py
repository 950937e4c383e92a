"""Where agent containers reach the suite's NATS and model proxy (``praktor up``, docker).

The agents join one network (``PRAKTOR_AGENT_NETWORK``, default ``praktor-agents``).
For a bridge network, ``praktor up`` creates it when missing (labelled as the
orchestrator's docker runtime labels it) and serves NATS and the model proxy on
its gateway address through :class:`~.relay.TcpRelay` s; nothing listens on
every interface. Engine network modes are used as they are: ``host`` reaches the
loopback directly, ``slirp4netns:allow_host_loopback=true`` reaches it at 10.0.2.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import aiodocker

DEFAULT_NETWORK: Final = "praktor-agents"
SLIRP_HOST_LOOPBACK: Final = "10.0.2.2"
NOT_FOUND: Final = 404


class AgentNetworkError(RuntimeError):
    """The agents' network cannot be used; the message says what to do."""


@dataclass(frozen=True)
class AgentEndpoints:
    """How agents on ``network`` reach the host's loopback servers."""

    network: str
    host: str
    """The address agents connect to."""
    relayed: bool
    """True when ``host`` is a bridge gateway the supervisor relays to the loopback."""

    def nats_url(self, port: int) -> str:
        return f"nats://{self.host}:{port}"

    def http_url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


def engine_mode_host(network: str) -> str | None:
    """The loopback as seen from an engine network mode, or None for a named network.

    Raises :class:`AgentNetworkError` for a mode from which the host cannot be reached.
    """
    if network == "host":
        return "127.0.0.1"
    if network.startswith("slirp4netns"):
        if "allow_host_loopback=true" in network:
            return SLIRP_HOST_LOOPBACK
        raise AgentNetworkError(
            f"agents on {network!r} cannot reach this machine: use "
            "PRAKTOR_AGENT_NETWORK=slirp4netns:allow_host_loopback=true, or a bridge network"
        )
    if network in ("none", "bridge", "default", "private", "pasta") or network.startswith(
        ("container:", "ns:")
    ):
        raise AgentNetworkError(
            f"praktor up cannot serve NATS to agents on the network mode {network!r}: leave "
            "PRAKTOR_AGENT_NETWORK unset (a bridge network is created), or set "
            "PRAKTOR_AGENT_NATS_URL and PRAKTOR_MODEL_PROXY_URL to addresses agents reach"
        )
    return None


def network_config(network: str, install_id: str) -> dict[str, Any]:
    """The ``POST /networks/create`` body (the labels the docker runtime gives it)."""
    return {
        "Name": network,
        "Driver": "bridge",
        "Labels": {
            "praktor.managed": "true",
            "praktor.install": install_id,
            "praktor.role": "agents-network",
        },
    }


def gateway_of(info: dict[str, Any]) -> str | None:
    """The IPv4 gateway of a network (``GET /networks/<name>``), if it has one."""
    for entry in (info.get("IPAM") or {}).get("Config") or []:
        gateway = entry.get("Gateway")
        if isinstance(gateway, str) and gateway and ":" not in gateway:
            return gateway
    return None


async def agent_endpoints(docker_host: str | None, network: str, install_id: str) -> AgentEndpoints:
    """Make sure the agents' network exists and say where agents reach the host."""
    host = engine_mode_host(network)
    if host is not None:
        return AgentEndpoints(network, host, relayed=False)
    async with aiodocker.Docker(url=docker_host) as docker:
        try:
            info = await (await docker.networks.get(network)).show()
        except aiodocker.DockerError as exc:
            if exc.status != NOT_FOUND:
                raise AgentNetworkError(
                    f"the container engine did not show the network {network}: {exc.message}"
                ) from exc
            try:
                await docker.networks.create(network_config(network, install_id))
            except aiodocker.DockerError as created:
                if created.status != 409:  # created meanwhile: fine
                    raise AgentNetworkError(
                        f"the container engine did not create the network {network}: "
                        f"{created.message}"
                    ) from created
            info = await (await docker.networks.get(network)).show()
    gateway = gateway_of(info)
    if gateway is None:
        raise AgentNetworkError(
            f"the network {network} has no IPv4 gateway for agents to reach this machine "
            "through: remove it (docker network rm) so praktor up creates it again"
        )
    return AgentEndpoints(network, gateway, relayed=True)
