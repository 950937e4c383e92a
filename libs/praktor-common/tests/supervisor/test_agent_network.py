"""Where agent containers reach the suite: the gateway of their bridge, or an engine mode."""

from __future__ import annotations

import contextlib
import os
import uuid

import aiodocker
import pytest

from praktor_common.supervisor.agent_network import (
    AgentEndpoints,
    AgentNetworkError,
    agent_endpoints,
    engine_mode_host,
    gateway_of,
    network_config,
)
from praktor_common.supervisor.engine import engine_answers


def test_a_named_network_is_a_bridge_reached_through_its_gateway() -> None:
    assert engine_mode_host("praktor-agents") is None
    info = {
        "IPAM": {
            "Config": [
                {"Subnet": "fd00::/64", "Gateway": "fd00::1"},
                {"Subnet": "10.89.0.0/24", "Gateway": "10.89.0.1"},
            ]
        }
    }
    assert gateway_of(info) == "10.89.0.1"
    assert gateway_of({"IPAM": {"Config": []}}) is None
    assert gateway_of({}) is None


def test_engine_modes_that_reach_the_loopback_are_used_as_they_are() -> None:
    assert engine_mode_host("host") == "127.0.0.1"
    assert engine_mode_host("slirp4netns:allow_host_loopback=true") == "10.0.2.2"


@pytest.mark.parametrize("mode", ["slirp4netns", "none", "bridge", "container:abc"])
def test_modes_from_which_the_suite_cannot_be_reached_say_what_to_set(mode: str) -> None:
    with pytest.raises(AgentNetworkError, match="PRAKTOR_AGENT_"):
        engine_mode_host(mode)


def test_the_network_is_created_with_the_labels_of_the_docker_runtime() -> None:
    config = network_config("praktor-agents", "pk-1")
    assert config["Driver"] == "bridge"
    assert config["Labels"] == {
        "praktor.managed": "true",
        "praktor.install": "pk-1",
        "praktor.role": "agents-network",
    }


def test_urls_name_the_address_agents_connect_to() -> None:
    endpoints = AgentEndpoints("praktor-agents", "10.89.0.1", relayed=True)
    assert endpoints.nats_url(4222) == "nats://10.89.0.1:4222"
    assert endpoints.http_url(8081) == "http://10.89.0.1:8081"


@pytest.mark.docker
@pytest.mark.integration
async def test_a_missing_bridge_is_created_once_and_its_gateway_is_where_agents_connect() -> None:
    host = os.environ.get("DOCKER_HOST", "")
    if not host.startswith("unix://") or not engine_answers(host.removeprefix("unix://")):
        pytest.skip("no container engine answers at DOCKER_HOST; run `make test-docker`")
    network = f"praktor-test-{uuid.uuid4().hex[:10]}"
    try:
        first = await agent_endpoints(host, network, "pk-net-test")
        again = await agent_endpoints(host, network, "pk-other")
        async with aiodocker.Docker(url=host) as docker:
            info = await (await docker.networks.get(network)).show()
    finally:
        async with aiodocker.Docker(url=host) as docker:
            with contextlib.suppress(aiodocker.DockerError):
                await (await docker.networks.get(network)).delete()

    assert first.relayed
    assert first.host == gateway_of(info)
    assert again == first, "an existing network is used as it is"
    assert info["Labels"]["praktor.install"] == "pk-net-test"
    assert first.nats_url(4222) == f"nats://{first.host}:4222"
