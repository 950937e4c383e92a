"""What an agent container is created with: names, mounts, env, labels, hardening.

Pure functions of an :class:`~.base.AgentLaunch` and the runtime's
:class:`ContainerOptions`, so the whole container contract can be read (and
tested) without an engine. Inside every agent container::

    /workspace/agent     the workspace volume (rw)          PRAKTOR_WORKSPACE
    /workspace/global    the global instructions (ro)       PRAKTOR_GLOBAL_DIR
    /home/praktor        the home volume (rw)               HOME
    /run/praktor         the agent's credentials dir (ro)   PRAKTOR_NATS_CREDS

The container runs as uid/gid 10321 (the image's ``praktor`` user, spec §6.6)
whatever the image says, with the agent's security profile (``defaults.security``
with the agent's own ``security`` merged over it, spec §20 item 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

from praktor_common.config import SecurityProfile

from .base import AGENT_LABEL, INSTALL_LABEL, AgentLaunch

AGENT_UID: Final = 10321
WORKSPACE_MOUNT: Final = "/workspace/agent"
GLOBAL_MOUNT: Final = "/workspace/global"
HOME_MOUNT: Final = "/home/praktor"
CREDS_MOUNT: Final = "/run/praktor"
CREDS_FILE: Final = "nats.creds"

MANAGED_LABEL: Final = "praktor.managed"
ROLE_LABEL: Final = "praktor.role"
WORKSPACE_LABEL: Final = "praktor.workspace"
CREDENTIAL_LABEL: Final = "praktor.credential-key"

TMPFS: Final = {
    "/tmp": "rw,nosuid,size=512m",  # noqa: S108 - a tmpfs inside the container
    "/var/tmp": "rw,noexec,nosuid,size=256m",  # noqa: S108
}
BUILTIN_NETWORKS: Final = ("host", "none", "bridge", "default", "private", "pasta")
"""Network modes an engine provides itself (plus ``slirp4netns[:opts]``, ``container:<id>``)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ContainerOptions:
    """How this install runs agent containers."""

    install_id: str
    network: str = "praktor-agents"
    """A user-defined network (created when missing) or an engine mode such as
    ``slirp4netns:allow_host_loopback=true``."""
    uid: int = AGENT_UID
    init: bool = True
    """Run an init as PID 1 (forwards SIGTERM, reaps zombies)."""


def sanitize(name: str) -> str:
    """A name as one engine-safe component: every char outside ``[A-Za-z0-9_-]`` → ``-``."""
    return _UNSAFE.sub("-", name)


def install_tag(install_id: str) -> str:
    """A short, engine-safe form of the install id that goes into every name."""
    return sanitize(install_id)[:24]


def container_name(options: ContainerOptions, agent_id: str) -> str:
    return f"praktor-{install_tag(options.install_id)}-agent-{sanitize(agent_id)}"


def workspace_volume(options: ContainerOptions, workspace: str) -> str:
    return f"praktor-{install_tag(options.install_id)}-wk-{sanitize(workspace)}"


def home_volume(options: ContainerOptions, workspace: str) -> str:
    return f"praktor-{install_tag(options.install_id)}-home-{sanitize(workspace)}"


def global_volume(options: ContainerOptions) -> str:
    return f"praktor-{install_tag(options.install_id)}-global"


def is_builtin_network(network: str) -> bool:
    return network in BUILTIN_NETWORKS or network.startswith(("slirp4netns", "container:", "ns:"))


def labels(options: ContainerOptions, **extra: str) -> dict[str, str]:
    """The labels of everything this install creates (how it finds its own, and only those)."""
    return {MANAGED_LABEL: "true", INSTALL_LABEL: options.install_id, **extra}


@dataclass(frozen=True)
class VolumeSpec:
    """A named volume whose data lives in a directory of the data dir (so the
    orchestrator reads and writes the same files the agent sees)."""

    name: str
    device: Path
    labels: dict[str, str]

    def create_config(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Driver": "local",
            "DriverOpts": {"type": "none", "o": "bind", "device": str(self.device)},
            "Labels": self.labels,
        }


def volumes(
    options: ContainerOptions, launch: AgentLaunch, host_dir: HostPaths
) -> list[VolumeSpec]:
    """The workspace, home and global volumes of one agent."""
    workspace = launch.workspace
    return [
        VolumeSpec(
            workspace_volume(options, workspace),
            host_dir(launch.dirs.workspace),
            labels(options, **{ROLE_LABEL: "workspace", WORKSPACE_LABEL: workspace}),
        ),
        VolumeSpec(
            home_volume(options, workspace),
            host_dir(launch.dirs.home),
            labels(options, **{ROLE_LABEL: "home", WORKSPACE_LABEL: workspace}),
        ),
        VolumeSpec(
            global_volume(options),
            host_dir(launch.dirs.global_dir),
            labels(options, **{ROLE_LABEL: "global"}),
        ),
    ]


class HostPaths:
    """Maps the orchestrator's paths to the engine host's (they differ when the
    orchestrator itself runs in a container with the data dir mounted elsewhere)."""

    def __init__(self, data_dir: Path, host_data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self.host_data_dir = host_data_dir or data_dir

    def __call__(self, path: Path) -> Path:
        try:
            relative = path.relative_to(self.data_dir)
        except ValueError:
            return path
        return self.host_data_dir / relative


def runner_env(options: ContainerOptions, launch: AgentLaunch) -> dict[str, str]:
    """The runner's environment inside the container (the launch's, then the paths)."""
    return {
        **launch.env,
        "PRAKTOR_AGENT_ID": launch.agent_id,
        "PRAKTOR_INSTALL_ID": options.install_id,
        "PRAKTOR_NATS_CREDS": str(PurePosixPath(CREDS_MOUNT) / CREDS_FILE),
        "PRAKTOR_WORKSPACE": WORKSPACE_MOUNT,
        "PRAKTOR_GLOBAL_DIR": GLOBAL_MOUNT,
        "HOME": HOME_MOUNT,
        "PYTHONUNBUFFERED": "1",
    }


def hardening(profile: SecurityProfile) -> dict[str, Any]:
    """HostConfig fields of a security profile (spec §6.6; zero / false adds nothing)."""
    host: dict[str, Any] = {}
    if profile.no_new_privileges:
        host["SecurityOpt"] = ["no-new-privileges"]
    if profile.drop_capabilities:
        host["CapDrop"] = ["ALL"]
        if profile.add_capabilities:
            host["CapAdd"] = list(profile.add_capabilities)
    if profile.pids_limit > 0:
        host["PidsLimit"] = profile.pids_limit
    if profile.memory_mb > 0:
        host["Memory"] = profile.memory_mb * 1024 * 1024
    if profile.cpus > 0:
        host["NanoCpus"] = int(profile.cpus * 1e9)
    if profile.readonly_rootfs:
        host["ReadonlyRootfs"] = True
    if profile.tmpfs:
        host["Tmpfs"] = dict(TMPFS)
    return host


def container_config(
    options: ContainerOptions, launch: AgentLaunch, host_dir: HostPaths
) -> dict[str, Any]:
    """The ``POST /containers/create`` body for one agent."""
    env = runner_env(options, launch)
    workspace, home, global_ = (v.name for v in volumes(options, launch, host_dir))
    host_config: dict[str, Any] = {
        "Mounts": [
            {"Type": "volume", "Source": workspace, "Target": WORKSPACE_MOUNT},
            {"Type": "volume", "Source": home, "Target": HOME_MOUNT},
            {"Type": "volume", "Source": global_, "Target": GLOBAL_MOUNT, "ReadOnly": True},
            {
                "Type": "bind",
                "Source": str(host_dir(launch.dirs.runtime)),
                "Target": CREDS_MOUNT,
                "ReadOnly": True,
            },
        ],
        "NetworkMode": options.network,
        "Init": options.init,
        "RestartPolicy": {"Name": "no"},
        **hardening(launch.security),
    }
    return {
        "Image": launch.image,
        "User": f"{options.uid}:{options.uid}",
        "WorkingDir": WORKSPACE_MOUNT,
        "Env": [f"{name}={value}" for name, value in env.items()],
        "Labels": labels(
            options,
            **{
                AGENT_LABEL: launch.agent_id,
                ROLE_LABEL: "agent",
                WORKSPACE_LABEL: launch.workspace,
                CREDENTIAL_LABEL: launch.credentials.public_key,
            },
        ),
        "HostConfig": host_config,
        "Tty": False,
        "OpenStdin": False,
    }
