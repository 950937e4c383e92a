"""The docker runtime's container contract, read without an engine: names, mounts, env,
labels, hardening, secret-file archives, and which runtime the orchestrator picks."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from praktor_common.config import SecurityOverride, SecurityProfile
from praktor_orchestrator.runtime import (
    AgentFile,
    DockerRuntime,
    ProcessRuntime,
    UnavailableRuntime,
    make_runtime,
)
from praktor_orchestrator.runtime.archive import FilePathError, dir_mode, files_archive
from praktor_orchestrator.runtime.container_spec import (
    ContainerOptions,
    HostPaths,
    container_config,
    container_name,
    hardening,
    is_builtin_network,
    volumes,
)
from services.orchestrator.tests.docker_support import make_launch

OPTIONS = ContainerOptions(install_id="pk-1", network="praktor-agents")


def test_names_carry_the_install_and_a_sanitized_workspace() -> None:
    assert container_name(OPTIONS, "coder") == "praktor-pk-1-agent-coder"
    launch = make_launch(Path("/data"), "coder", "img", workspace="my_ws-2")
    names = [v.name for v in volumes(OPTIONS, launch, HostPaths(Path("/data")))]
    assert names == ["praktor-pk-1-wk-my_ws-2", "praktor-pk-1-home-my_ws-2", "praktor-pk-1-global"]


def test_volumes_are_backed_by_the_agent_directories_as_the_engine_host_sees_them(
    tmp_path: Path,
) -> None:
    launch = make_launch(tmp_path, "coder", "img")
    host = HostPaths(tmp_path, Path("/var/lib/docker/volumes/praktor-data/_data"))
    workspace, home, global_ = volumes(OPTIONS, launch, host)
    assert workspace.device == Path("/var/lib/docker/volumes/praktor-data/_data/agents/coder")
    assert home.device.name == "coder"
    assert home.device.parent.name == ".homes"
    assert global_.device.name == "global"
    config = workspace.create_config()
    assert config["DriverOpts"] == {"type": "none", "o": "bind", "device": str(workspace.device)}
    assert config["Labels"]["praktor.install"] == "pk-1"


def test_the_container_runs_the_image_as_uid_10321_with_the_runner_env(tmp_path: Path) -> None:
    launch = make_launch(tmp_path, "coder", "praktor-agent:abc")
    config = container_config(OPTIONS, launch, HostPaths(tmp_path))
    env = dict(item.split("=", 1) for item in config["Env"])
    assert config["Image"] == "praktor-agent:abc"
    assert config["User"] == "10321:10321"
    assert config["WorkingDir"] == "/workspace/agent"
    assert env["PLAIN"] == "value"
    assert env["PRAKTOR_AGENT_ID"] == "coder"
    assert env["PRAKTOR_INSTALL_ID"] == "pk-1"
    assert env["HOME"] == "/home/praktor"
    assert env["PRAKTOR_NATS_CREDS"] == "/run/praktor/nats.creds"
    assert config["Labels"]["praktor.install"] == "pk-1"
    assert config["Labels"]["praktor.agent"] == "coder"
    mounts = {m["Target"]: m for m in config["HostConfig"]["Mounts"]}
    assert mounts["/workspace/global"]["ReadOnly"] is True
    assert mounts["/run/praktor"] == {
        "Type": "bind",
        "Source": str(launch.dirs.runtime),
        "Target": "/run/praktor",
        "ReadOnly": True,
    }
    assert config["HostConfig"]["NetworkMode"] == "praktor-agents"
    assert config["HostConfig"]["Init"] is True


def test_the_agents_own_env_cannot_override_the_paths(tmp_path: Path) -> None:
    launch = make_launch(tmp_path, "coder", "img", env={"HOME": "/root", "PRAKTOR_AGENT_ID": "x"})
    env = dict(
        i.split("=", 1) for i in container_config(OPTIONS, launch, HostPaths(tmp_path))["Env"]
    )
    assert env["HOME"] == "/home/praktor"
    assert env["PRAKTOR_AGENT_ID"] == "coder"


def test_the_default_profile_is_the_originals_hardening() -> None:
    assert hardening(SecurityProfile()) == {
        "SecurityOpt": ["no-new-privileges"],
        "CapDrop": ["ALL"],
        "CapAdd": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
        "PidsLimit": 1024,
        "Tmpfs": {"/tmp": "rw,nosuid,size=512m", "/var/tmp": "rw,noexec,nosuid,size=256m"},
    }


def test_an_agents_settings_merge_over_the_defaults_and_zero_adds_nothing() -> None:
    defaults = SecurityProfile(memory_mb=512, cpus=1.5)
    merged = SecurityOverride(readonly_rootfs=True, pids_limit=0).over(defaults)
    host = hardening(merged)
    assert host["Memory"] == 512 * 1024 * 1024
    assert host["NanoCpus"] == 1_500_000_000
    assert host["ReadonlyRootfs"] is True
    assert "PidsLimit" not in host
    assert host["CapDrop"] == ["ALL"]


def test_capabilities_are_only_added_back_when_all_are_dropped() -> None:
    host = hardening(SecurityProfile(drop_capabilities=False, add_capabilities=["NET_ADMIN"]))
    assert "CapAdd" not in host
    assert "CapDrop" not in host


def test_engine_network_modes_are_used_as_they_are() -> None:
    assert is_builtin_network("slirp4netns:allow_host_loopback=true")
    assert is_builtin_network("host")
    assert not is_builtin_network("praktor-agents")


def test_secret_files_archive_holds_each_file_and_its_new_parents_owned_by_the_agent() -> None:
    files = [
        AgentFile("/home/praktor/.ssh/id_ed25519", b"key", 0o600),
        AgentFile("/home/praktor/.ssh/config", b"cfg", 0o644),
        AgentFile("/etc/tool/token", b"t", 0o640),
    ]
    data = files_archive(files, 10321, existing=["/home/praktor"])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == [
            "etc/tool",
            "etc/tool/token",
            "home/praktor/.ssh",
            "home/praktor/.ssh/config",
            "home/praktor/.ssh/id_ed25519",
        ]
        assert members["home/praktor/.ssh"].mode == 0o755  # widest of 0700 and 0755
        assert members["etc/tool"].mode == 0o750
        assert members["home/praktor/.ssh/id_ed25519"].mode == 0o600
        assert {(m.uid, m.gid) for m in members.values()} == {(10321, 10321)}
        extracted = tar.extractfile("etc/tool/token")
        assert extracted is not None
        assert extracted.read() == b"t"


@pytest.mark.parametrize("target", ["relative/x", "/a/../b", "/a//b", "/", "/a/./b"])
def test_secret_file_targets_must_be_clean_absolute_paths(target: str) -> None:
    with pytest.raises(FilePathError):
        files_archive([AgentFile(target, b"x")], 10321)


def test_a_directory_gets_an_execute_bit_for_each_read_bit() -> None:
    assert dir_mode(0o600) == 0o700
    assert dir_mode(0o644) == 0o755
    assert dir_mode(0o400) == 0o500


def test_the_orchestrator_picks_the_named_runtime_or_detects_one(tmp_path: Path) -> None:
    common = {"data_dir": tmp_path, "state_dir": tmp_path / "run", "install_id": "pk-1"}
    assert isinstance(make_runtime("process", **common), ProcessRuntime)  # type: ignore[arg-type]
    docker = make_runtime(
        "docker",
        network="praktor-x",
        environ={"DOCKER_HOST": "unix:///nowhere.sock"},
        **common,  # type: ignore[arg-type]
    )
    assert isinstance(docker, DockerRuntime)
    assert docker.options.network == "praktor-x"
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/none.sock", "XDG_RUNTIME_DIR": str(tmp_path)}
    auto = make_runtime("auto", environ=no_engine, **common)  # type: ignore[arg-type]
    if Path("/var/run/docker.sock").exists() or Path("/run/podman/podman.sock").exists():
        pytest.skip("a system engine socket exists here; auto would pick it")
    assert isinstance(auto, ProcessRuntime)
    unknown = make_runtime("kubernetes", **common)  # type: ignore[arg-type]
    assert isinstance(unknown, UnavailableRuntime)
    assert "PRAKTOR_AGENT_RUNTIME=docker" in unknown.reason
