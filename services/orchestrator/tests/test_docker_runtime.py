"""The docker runtime against a real engine (Podman's Docker API here): one hardened,
labelled container per agent, with its named volumes, that never loses data."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiodocker
import pytest

from praktor_common.config import SecurityOverride, SecurityProfile
from praktor_common.testing.nats import wait_until
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.runtime import AgentFile, DockerRuntime, RuntimeStartError
from praktor_orchestrator.runtime.container_spec import AGENT_UID, container_name
from services.orchestrator.tests.docker_support import (
    NOT_RUNNING,
    ensure_probe_image,
    make_launch,
    read_probe,
    remove_install,
)

pytestmark = [pytest.mark.integration, pytest.mark.docker]

AS_ROOT = os.geteuid() == 0
DEFAULT_CAPS = 0b11001011
"""CHOWN(0) DAC_OVERRIDE(1) FOWNER(3) SETUID(6) SETGID(7): the defaults added back after ALL."""


@pytest.fixture
async def docker() -> AsyncIterator[aiodocker.Docker]:
    try:
        client = aiodocker.Docker()
    except ValueError:
        pytest.fail(NOT_RUNNING)
    try:
        await client.system.info()
    except (aiodocker.DockerError, OSError) as exc:
        await client.close()
        pytest.fail(f"{NOT_RUNNING} ({exc})")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def probe_image(docker: aiodocker.Docker) -> str:
    return await ensure_probe_image(docker)


@pytest.fixture
async def install_id(docker: aiodocker.Docker) -> AsyncIterator[str]:
    """A fresh install per test; everything it labelled is removed afterwards."""
    install = f"pk-test-{uuid.uuid4().hex[:10]}"
    try:
        yield install
    finally:
        await remove_install(docker, install)


Make = Callable[..., DockerRuntime]


@pytest.fixture
async def runtimes(data_dir: Path, install_id: str) -> AsyncIterator[Make]:
    made: list[DockerRuntime] = []

    def make(install: str = install_id, network: str | None = None) -> DockerRuntime:
        runtime = DockerRuntime(
            data_dir, install, network=network or f"praktor-{install}", poll_interval=0.5
        )
        made.append(runtime)
        return runtime

    try:
        yield make
    finally:
        for runtime in made:
            for agent in list(runtime._agents):
                await runtime.stop(agent, timeout=2)
            await runtime.close()


async def probe_of(data_dir: Path, workspace: str) -> dict[str, str]:
    report = AgentPaths(data_dir).workspace_dir(workspace) / "probe.txt"
    await wait_until(report.exists, within=60)
    return read_probe(report)


async def test_an_agent_runs_unprivileged_with_its_volumes_env_and_credentials(
    runtimes: Make, data_dir: Path, probe_image: str, docker: aiodocker.Docker, install_id: str
) -> None:
    runtime = runtimes()
    launch = make_launch(data_dir, "coder", probe_image)

    handle = await runtime.start(launch)
    seen = await probe_of(data_dir, "coder")

    assert handle.install_id == install_id
    assert handle.credential_key == launch.credentials.public_key
    assert await runtime.is_running("coder")
    assert seen["uid"] == f"{AGENT_UID}:{AGENT_UID}"
    assert seen["cwd"] == "/workspace/agent"
    assert seen["home"] == "/home/praktor"
    assert seen["PRAKTOR_AGENT_ID"] == "coder"
    assert seen["PRAKTOR_INSTALL_ID"] == install_id
    assert seen["PRAKTOR_WORKSPACE"] == "/workspace/agent"
    assert seen["PRAKTOR_GLOBAL_DIR"] == "/workspace/global"
    assert seen["PRAKTOR_NATS_CREDS"] == "/run/praktor/nats.creds"
    assert seen["PRAKTOR_NATS_URL"] == "nats://unused:4222"
    assert seen["PLAIN"] == "value"
    expected = hashlib.sha256(launch.credentials.creds_text().encode()).hexdigest()
    assert seen["creds_sha"] == expected
    assert seen["global_md"] == "# Global instructions"
    assert (seen["workspace"], seen["homedir"]) == ("writable", "writable")
    assert (seen["global"], seen["creds_dir"]) == ("readonly", "readonly")
    # the orchestrator sees what the agent wrote: the volume is the agent's directory
    assert (launch.dirs.workspace / "probe-write").exists()
    assert (launch.dirs.home / "probe-write").exists()
    creds = launch.dirs.runtime / "nats.creds"
    assert creds.stat().st_mode & 0o777 == 0o600
    if AS_ROOT:
        assert creds.stat().st_uid == AGENT_UID
        assert launch.dirs.workspace.stat().st_uid == AGENT_UID

    info = await (await docker.containers.get(handle.runtime_id)).show()
    labels = info["Config"]["Labels"]
    assert labels["praktor.install"] == install_id
    assert labels["praktor.agent"] == "coder"
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/workspace/agent"]["Name"] == f"praktor-{install_id}-wk-coder"
    assert mounts["/home/praktor"]["Name"] == f"praktor-{install_id}-home-coder"
    assert mounts["/workspace/global"]["Name"] == f"praktor-{install_id}-global"
    assert mounts["/workspace/global"]["RW"] is False
    volume = await (await docker.volumes.get(f"praktor-{install_id}-wk-coder")).show()  # type: ignore[no-untyped-call]
    assert volume["Labels"]["praktor.install"] == install_id


async def test_the_hardening_profile_applies_by_default(
    runtimes: Make, data_dir: Path, probe_image: str, docker: aiodocker.Docker
) -> None:
    runtime = runtimes()
    handle = await runtime.start(make_launch(data_dir, "coder", probe_image))
    seen = await probe_of(data_dir, "coder")

    assert int(seen["CapEff"], 16) == DEFAULT_CAPS
    assert seen["NoNewPrivs"] == "1"
    assert seen["rootfs"] == "writable"  # readonly_rootfs is off by default
    assert "nosuid" in seen["tmpfs_tmp"]
    assert "noexec" in seen["tmpfs_vartmp"]
    assert "nosuid" in seen["tmpfs_vartmp"]
    info = await (await docker.containers.get(handle.runtime_id)).show()
    assert info["HostConfig"]["PidsLimit"] == 1024
    assert info["HostConfig"]["Memory"] == 0


async def test_an_agents_own_security_settings_merge_over_the_defaults(
    runtimes: Make, data_dir: Path, probe_image: str, docker: aiodocker.Docker
) -> None:
    defaults = SecurityProfile(pids_limit=300)
    own = SecurityOverride(memory_mb=256, readonly_rootfs=True, add_capabilities=[])
    runtime = runtimes()
    launch = make_launch(data_dir, "locked", probe_image, security=own.over(defaults))

    handle = await runtime.start(launch)
    seen = await probe_of(data_dir, "locked")

    assert seen["rootfs"] == "readonly"
    assert int(seen["CapEff"], 16) == 0  # ALL dropped, none added back
    assert seen["NoNewPrivs"] == "1"  # inherited from the defaults
    info = await (await docker.containers.get(handle.runtime_id)).show()
    assert info["HostConfig"]["Memory"] == 256 * 1024 * 1024
    assert info["HostConfig"]["PidsLimit"] == 300  # the default's value, not reset to 0


async def test_secret_files_are_in_place_before_the_runner_starts(
    runtimes: Make, data_dir: Path, probe_image: str
) -> None:
    runtime = runtimes()
    files = (
        AgentFile("/home/praktor/.config/tool/key", b"s3cret-key", 0o600),
        AgentFile("/etc/praktor-test/token", b"tok", 0o644),
    )
    launch = make_launch(data_dir, "coder", probe_image, files=files)

    await runtime.start(launch)
    seen = await probe_of(data_dir, "coder")

    assert seen["file_/home/praktor/.config/tool/key"] == f"600 {AGENT_UID} s3cret-key"
    assert seen["file_/etc/praktor-test/token"] == f"644 {AGENT_UID} tok"


async def test_a_secret_file_outside_a_clean_absolute_path_is_refused(
    runtimes: Make, data_dir: Path, probe_image: str
) -> None:
    launch = make_launch(
        data_dir, "coder", probe_image, files=(AgentFile("/home/praktor/../../etc/x", b"x"),)
    )
    with pytest.raises(RuntimeStartError, match="clean absolute path"):
        await runtimes().start(launch)


async def test_stop_removes_the_container_and_credentials_but_never_the_volumes(
    runtimes: Make, data_dir: Path, probe_image: str, docker: aiodocker.Docker, install_id: str
) -> None:
    runtime = runtimes()
    launch = make_launch(data_dir, "coder", probe_image)
    handle = await runtime.start(launch)
    await probe_of(data_dir, "coder")

    assert await runtime.stop("coder", timeout=5) is True

    assert not await runtime.is_running("coder")
    assert await runtime.exit_code("coder") == 0  # the runner ended on SIGTERM
    with pytest.raises(aiodocker.DockerError):
        await docker.containers.get(handle.runtime_id)
    assert not (launch.dirs.runtime / "nats.creds").exists()
    assert (launch.dirs.workspace / "probe.txt").exists()
    await docker.volumes.get(f"praktor-{install_id}-wk-coder")  # type: ignore[no-untyped-call]
    await docker.volumes.get(f"praktor-{install_id}-home-coder")  # type: ignore[no-untyped-call]
    assert await runtime.stop("coder") is False


async def test_a_runner_that_ignores_sigterm_is_killed_after_the_timeout(
    runtimes: Make, data_dir: Path, probe_image: str
) -> None:
    runtime = runtimes()
    launch = make_launch(data_dir, "stubborn", probe_image, env={"PROBE_MODE": "ignore-term"})
    await runtime.start(launch)
    await probe_of(data_dir, "stubborn")

    loop = asyncio.get_running_loop()
    began = loop.time()
    assert await runtime.stop("stubborn", timeout=1) is True
    assert loop.time() - began < 20
    assert not await runtime.is_running("stubborn")


async def test_a_runner_that_ends_by_itself_is_reported_with_its_exit_code(
    runtimes: Make, data_dir: Path, probe_image: str, docker: aiodocker.Docker
) -> None:
    runtime = runtimes()
    ended: list[tuple[str, int | None]] = []

    async def on_exit(agent_id: str, code: int | None) -> None:
        ended.append((agent_id, code))

    runtime.on_exit(on_exit)
    launch = make_launch(data_dir, "crashy", probe_image, env={"PROBE_MODE": "exit3"})
    handle = await runtime.start(launch)

    await wait_until(lambda: bool(ended), within=60)
    assert ended == [("crashy", 3)]
    assert not await runtime.is_running("crashy")
    assert await runtime.exit_code("crashy") == 3
    assert not (launch.dirs.runtime / "nats.creds").exists()
    with pytest.raises(aiodocker.DockerError):
        await docker.containers.get(handle.runtime_id)


async def test_logs_show_what_the_runner_wrote(
    runtimes: Make, data_dir: Path, probe_image: str
) -> None:
    runtime = runtimes()
    await runtime.start(make_launch(data_dir, "coder", probe_image))
    await probe_of(data_dir, "coder")

    async def has_line() -> bool:
        return "probe ready" in await runtime.logs("coder")

    for _ in range(50):
        if await has_line():
            break
        await asyncio.sleep(0.2)
    assert "probe ready" in await runtime.logs("coder", tail=5)


async def test_a_restarted_orchestrator_adopts_only_its_own_installs_agents(
    runtimes: Make,
    data_dir: Path,
    probe_image: str,
    docker: aiodocker.Docker,
    install_id: str,
) -> None:
    first = runtimes()
    await first.start(make_launch(data_dir, "coder", probe_image))
    crashed = make_launch(data_dir, "gone", probe_image, env={"PROBE_MODE": "exit1"})
    await first.start(crashed)
    await probe_of(data_dir, "coder")
    await wait_until(lambda: not first._agents.get("gone"), within=60)
    await first.close()  # the orchestrator dies: containers keep running

    other_install = f"{install_id}-other"
    try:
        other = runtimes(install=other_install, network=f"praktor-{install_id}")
        assert await other.leftovers() == []

        second = runtimes()
        leftovers = await second.leftovers()
        assert [h.agent_id for h in leftovers] == ["coder"]
        assert leftovers[0].credential_key == "UTESTKEYCODER"
        await second.adopt(leftovers[0])
        assert await second.is_running("coder")
        assert await second.stop("coder", timeout=5) is True
        name = container_name(second.options, "coder")
        with pytest.raises(aiodocker.DockerError):
            await docker.containers.get(name)
    finally:
        await remove_install(docker, other_install)


async def test_a_stale_container_of_the_same_install_is_replaced_on_start(
    runtimes: Make, data_dir: Path, probe_image: str, docker: aiodocker.Docker
) -> None:
    first = runtimes()
    old = await first.start(make_launch(data_dir, "coder", probe_image))
    await first.close()

    second = runtimes()
    new = await second.start(make_launch(data_dir, "coder", probe_image))

    assert new.runtime_id != old.runtime_id
    with pytest.raises(aiodocker.DockerError):
        await docker.containers.get(old.runtime_id)


async def test_a_missing_image_is_a_start_failure_that_says_how_to_build_it(
    runtimes: Make, data_dir: Path
) -> None:
    launch = make_launch(data_dir, "coder", "localhost/praktor-no-such-image:1")
    with pytest.raises(RuntimeStartError) as failure:
        await runtimes().start(launch)
    assert "praktor agent-image build" in str(failure.value)
    assert not (launch.dirs.runtime / "nats.creds").exists()


async def test_agents_reach_services_on_their_network_and_not_those_on_another(
    runtimes: Make,
    data_dir: Path,
    probe_image: str,
    docker: aiodocker.Docker,
    install_id: str,
) -> None:
    """The runtime creates the agents' network (labelled) and attaches agents only to it:
    a server on it (NATS, the model proxy) answers; one on another network (the database)
    does not, when the engine isolates networks (Docker's bridges; Podman's with isolate)."""
    runtime = runtimes()
    network = runtime.options.network
    await runtime.start(make_launch(data_dir, "coder", probe_image))
    info = await (await docker.networks.get(network)).show()
    assert info["Labels"]["praktor.install"] == install_id

    private = f"praktor-{install_id}-db"
    await docker.networks.create(
        {
            "Name": private,
            "Labels": {"praktor.install": install_id},
            "Options": {"isolate": "true"},
        }
    )
    server = "import http.server as h; h.HTTPServer(('', 8000), h.BaseHTTPRequestHandler)"
    server += ".serve_forever()"
    reachable = await _server(docker, probe_image, install_id, "nats", network, server)
    hidden = await _server(docker, probe_image, install_id, "db", private, server)

    assert await _connects(docker, probe_image, install_id, network, reachable)
    assert not await _connects(docker, probe_image, install_id, network, hidden)


async def _server(
    docker: aiodocker.Docker, image: str, install: str, name: str, network: str, code: str
) -> str:
    container = await docker.containers.run(
        {
            "Image": image,
            "Entrypoint": ["python3", "-c", code],
            "Labels": {"praktor.install": install},
            "HostConfig": {"NetworkMode": network},
        },
        name=f"praktor-{install}-{name}",
    )
    info = await container.show()
    address: str = info["NetworkSettings"]["Networks"][network]["IPAddress"]
    assert address
    return address


async def _connects(
    docker: aiodocker.Docker, image: str, install: str, network: str, address: str
) -> bool:
    code = (
        "import socket,sys,time\n"
        "for _ in range(20):\n"
        f"    try: socket.create_connection(('{address}', 8000), timeout=1); sys.exit(0)\n"
        "    except OSError: time.sleep(0.25)\n"
        "sys.exit(7)\n"
    )
    container = await docker.containers.run(
        {
            "Image": image,
            "Entrypoint": ["python3", "-c", code],
            "Labels": {"praktor.install": install},
            "HostConfig": {"NetworkMode": network},
        }
    )
    result = await container.wait()
    await container.delete(force=True)
    return bool(result["StatusCode"] == 0)
