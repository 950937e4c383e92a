"""/healthz, /readyz and /metrics as a load balancer and an operator see them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import Counter

from praktor_common.embedded.ports import free_port
from praktor_common.runtime.health import HealthServer, HealthState


@pytest.fixture
async def served() -> AsyncIterator[tuple[HealthState, str]]:
    state = HealthState("router")
    port = free_port()
    server = HealthServer(state, "127.0.0.1", port)
    await server.start()
    try:
        yield state, f"http://127.0.0.1:{port}"
    finally:
        await server.stop()


async def test_alive_from_the_start_but_ready_only_once_started(
    served: tuple[HealthState, str],
) -> None:
    state, url = served
    async with httpx.AsyncClient() as client:
        assert (await client.get(url + "/healthz")).status_code == 200
        not_yet = await client.get(url + "/readyz")
        assert not_yet.status_code == 503
        assert not_yet.json()["starting"] is True
        state.started = True
        assert (await client.get(url + "/readyz")).status_code == 200


async def test_a_failing_check_makes_the_service_unready_and_is_named(
    served: tuple[HealthState, str],
) -> None:
    state, url = served
    state.started = True

    async def database() -> None:
        raise ConnectionError("connection refused")

    async def nats() -> None:
        return None

    state.add_check("nats", nats)
    state.add_check("database", database)
    async with httpx.AsyncClient() as client:
        response = await client.get(url + "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "nats": "ok",
        "database": "ConnectionError: connection refused",
    }


async def test_stopping_service_is_not_ready(served: tuple[HealthState, str]) -> None:
    state, url = served
    state.started = True
    state.stopping = True
    async with httpx.AsyncClient() as client:
        assert (await client.get(url + "/readyz")).status_code == 503


async def test_metrics_serve_the_service_registry(served: tuple[HealthState, str]) -> None:
    state, url = served
    Counter("praktor_test_things", "things", registry=state.registry).inc(3)
    async with httpx.AsyncClient() as client:
        response = await client.get(url + "/metrics")
    assert response.status_code == 200
    assert "praktor_test_things_total 3.0" in response.text


async def test_a_taken_port_is_a_clear_error() -> None:
    port = free_port()
    first = HealthServer(HealthState("web"), "127.0.0.1", port)
    await first.start()
    try:
        with pytest.raises(
            RuntimeError, match=f"cannot listen for health checks on 127.0.0.1:{port}"
        ):
            await HealthServer(HealthState("web"), "127.0.0.1", port).start()
    finally:
        await first.stop()
