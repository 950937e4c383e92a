"""`praktor up` runs agents in containers only when that will work, and says why not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from praktor_common.cli.doctor import diagnose
from praktor_common.settings import RuntimeSettings
from praktor_common.supervisor.runtime_choice import (
    RuntimeChoiceError,
    choose_runtime,
    image_present,
    missing_image_note,
)
from praktor_common.supervisor.state import SuiteState, probe

BUILT = "praktor-agent:latest"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """A unix socket answering like a Docker-API engine that holds only the image BUILT."""

    async def ping(_request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def inspect(request: web.Request) -> web.Response:
        if request.match_info["name"] == BUILT:
            return web.json_response({"Id": "sha256:0f"})
        return web.json_response({"message": "no such image"}, status=404)

    app = web.Application()
    app.router.add_get("/_ping", ping)
    app.router.add_get("/images/{name}/json", inspect)
    runner = web.AppRunner(app)
    await runner.setup()
    path = tmp_path / "engine.sock"
    await web.UnixSite(runner, str(path)).start()
    try:
        yield {"DOCKER_HOST": f"unix://{path}"}
    finally:
        await runner.cleanup()


def no_engine(tmp_path: Path) -> dict[str, str]:
    return {"DOCKER_HOST": f"unix://{tmp_path}/absent.sock"}


async def test_auto_picks_docker_when_the_engine_has_the_agent_image(
    engine: dict[str, str],
) -> None:
    choice = await asyncio.to_thread(choose_runtime, "auto", BUILT, engine)

    assert choice.runtime == "docker"
    assert choice.docker_host == engine["DOCKER_HOST"]
    assert choice.note == ""


async def test_auto_falls_back_to_processes_and_says_how_to_build_the_image(
    engine: dict[str, str],
) -> None:
    choice = await asyncio.to_thread(choose_runtime, "auto", "praktor-agent:other", engine)

    assert choice.runtime == "process"
    assert choice.engine_socket is None
    assert "praktor-agent:other is not on it" in choice.note
    assert "NOT isolated" in choice.note
    assert "`praktor agent-image build`" in choice.note


async def test_docker_asked_for_without_the_image_goes_on_and_says_agents_cannot_start(
    engine: dict[str, str],
) -> None:
    choice = await asyncio.to_thread(choose_runtime, "docker", "praktor-agent:other", engine)

    assert choice.runtime == "docker"
    assert "agents cannot start until you run `praktor agent-image build`" in choice.note


def test_auto_without_an_engine_runs_processes_and_says_they_are_not_isolated(
    tmp_path: Path,
) -> None:
    choice = choose_runtime("auto", BUILT, no_engine(tmp_path))

    assert choice.runtime == "process"
    assert "no container engine answered" in choice.note
    assert "NOT isolated" in choice.note


def test_docker_asked_for_without_an_engine_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RuntimeChoiceError, match="start Docker or Podman"):
        choose_runtime("docker", BUILT, no_engine(tmp_path))


def test_process_is_used_as_asked_without_probing_an_engine(tmp_path: Path) -> None:
    choice = choose_runtime("process", BUILT, no_engine(tmp_path))

    assert (choice.runtime, choice.note) == ("process", "")


def test_an_unknown_runtime_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(RuntimeChoiceError, match="use process, docker or auto"):
        choose_runtime("kubernetes", BUILT, no_engine(tmp_path))


async def test_image_names_with_a_registry_and_tag_are_asked_for_whole(
    engine: dict[str, str],
) -> None:
    socket = engine["DOCKER_HOST"].removeprefix("unix://")

    assert await asyncio.to_thread(image_present, socket, BUILT)
    assert not await asyncio.to_thread(image_present, socket, "localhost/praktor-agent:latest")
    assert not image_present(socket + ".absent", BUILT)


async def test_doctor_names_a_missing_agent_image_and_the_command_that_builds_it(
    engine: dict[str, str], tmp_path: Path
) -> None:
    settings = RuntimeSettings(data_dir=tmp_path, config=tmp_path / "praktor.yaml")
    (tmp_path / "praktor.yaml").write_text("defaults:\n  image: praktor-agent:other\n")

    findings = await asyncio.to_thread(diagnose, settings, engine)

    [containers] = [f for f in findings if f.topic == "containers"]
    assert containers.level == "warn"
    assert "praktor-agent:other is not built" in containers.message
    assert "praktor agent-image build" in containers.fix
    (tmp_path / "praktor.yaml").write_text(f"defaults:\n  image: {BUILT}\n")
    [built] = [
        f for f in await asyncio.to_thread(diagnose, settings, engine) if f.topic == "containers"
    ]
    assert built.level == "ok"


async def test_status_shows_why_agents_are_not_in_containers() -> None:
    note = missing_image_note("praktor-agent:latest", "/run/podman/podman.sock")
    state = SuiteState(
        supervisor_pid=os.getpid(),
        started_at=datetime.now(UTC),
        install_id="pk-1",
        mission_control_url="http://127.0.0.1:8080",
        nats_url="nats://127.0.0.1:4222",
        nats_embedded=True,
        database_embedded=True,
        runtime="process",
        runtime_note=note,
        services=[],
    )

    status = await probe(state)

    assert status.runtime == "process"
    assert status.warnings == [note]
