"""Where agent containers reach the suite: the gateway of their bridge, or an engine mode."""

from __future__ import annotations

import pytest

from praktor_common.supervisor.agent_network import (
    AgentEndpoints,
    AgentNetworkError,
    engine_mode_host,
    gateway_of,
    network_config,
)


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
