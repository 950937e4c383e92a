"""`praktor up` picks docker only when a Docker-API engine really answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from praktor_common.supervisor.engine import detect_engine, engine_answers, engine_sockets


@pytest.fixture
async def ping_socket(tmp_path: Path) -> AsyncIterator[Path]:
    """A unix socket answering the Docker API's `GET /_ping` like an engine does."""

    async def ping(_request: web.Request) -> web.Response:
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_get("/_ping", ping)
    runner = web.AppRunner(app)
    await runner.setup()
    path = tmp_path / "engine.sock"
    await web.UnixSite(runner, str(path)).start()
    try:
        yield path
    finally:
        await runner.cleanup()


def test_docker_host_is_tried_first() -> None:
    sockets = engine_sockets({"DOCKER_HOST": "unix:///tmp/x.sock"})
    assert sockets[0] == "/tmp/x.sock"
    assert "/var/run/docker.sock" in sockets


async def test_an_answering_socket_is_detected(ping_socket: Path) -> None:
    env = {"DOCKER_HOST": f"unix://{ping_socket}"}
    assert await asyncio.to_thread(engine_answers, str(ping_socket))
    assert await asyncio.to_thread(detect_engine, env) == str(ping_socket)


def test_a_missing_or_silent_socket_is_not_an_engine(tmp_path: Path) -> None:
    assert not engine_answers(str(tmp_path / "absent.sock"))
    (tmp_path / "plain-file.sock").write_text("")
    assert not engine_answers(str(tmp_path / "plain-file.sock"))
