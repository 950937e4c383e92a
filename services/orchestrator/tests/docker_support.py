"""Helpers of the docker-runtime tests: the engine, a small probe image, cleanup.

The probe image is the local base image plus python3 and one shell script that
writes what it sees from inside the container (uid, capabilities, env, mounts,
which paths it can write) into the workspace, then waits for SIGTERM. It is
tagged with a hash of its inputs and built once per engine.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path
from typing import Final

import aiodocker

from praktor_common.identities import Credentials
from praktor_orchestrator.paths import AgentPaths
from praktor_orchestrator.runtime import AgentDirs, AgentLaunch

BASE_IMAGE: Final = os.environ.get("PRAKTOR_TEST_BASE_IMAGE", "localhost/debian:bookworm")
NOT_RUNNING: Final = (
    "no container engine answers at DOCKER_HOST; run `make test-docker` "
    "(it starts Podman with scripts/podman-setup.sh) or set DOCKER_HOST"
)

PROBE: Final = r"""#!/bin/bash
# What an agent container sees, written as key=value lines into its workspace.
out=/workspace/agent/probe.txt
{
  echo "uid=$(id -u):$(id -g)"
  echo "cwd=$PWD"
  echo "home=$HOME"
  grep -E '^(CapEff|NoNewPrivs):' /proc/self/status | tr -d '\t' | sed 's/:/=/'
  env | grep -E '^(PRAKTOR_|PLAIN=)' | sort
  touch /workspace/global/probe 2>/dev/null && echo global=writable || echo global=readonly
  touch /workspace/agent/probe-write 2>/dev/null && echo workspace=writable || echo workspace=ro
  touch /home/praktor/probe-write 2>/dev/null && echo homedir=writable || echo homedir=readonly
  touch /probe-write 2>/dev/null && echo rootfs=writable || echo rootfs=readonly
  touch /run/praktor/probe 2>/dev/null && echo creds_dir=writable || echo creds_dir=readonly
  echo "creds_sha=$(sha256sum < "$PRAKTOR_NATS_CREDS" | cut -c1-64)"
  echo "global_md=$(cat /workspace/global/CLAUDE.md | head -1)"
  awk '$2 == "/tmp" || $2 == "/var/tmp" {print "tmpfs_" $2 "=" $4}' /proc/mounts | tr -d '/'
  for f in /home/praktor/.config/tool/key /etc/praktor-test/token; do
    [ -e "$f" ] && echo "file_$f=$(stat -c '%a %u' "$f") $(cat "$f")"
  done
} > "$out.tmp" 2>&1
mv "$out.tmp" "$out"
case "${PROBE_MODE:-wait}" in
  exit*) echo "ending with ${PROBE_MODE#exit}"; exit "${PROBE_MODE#exit}" ;;
  ignore-term) trap '' TERM ;;
  *) trap 'echo "got SIGTERM"; exit 0' TERM ;;
esac
echo "probe ready"
while :; do sleep 1 & wait $!; done
"""

DOCKERFILE: Final = """ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 >/dev/null \\
 && rm -rf /var/lib/apt/lists/*
COPY probe.sh /usr/local/bin/probe
RUN chmod 0755 /usr/local/bin/probe
ENTRYPOINT ["/usr/local/bin/probe"]
"""


def _context() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in (("Dockerfile", DOCKERFILE), ("probe.sh", PROBE)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def probe_tag() -> str:
    digest = hashlib.sha256(f"{BASE_IMAGE}\0{DOCKERFILE}\0{PROBE}".encode()).hexdigest()
    return f"localhost/praktor-test-probe:{digest[:16]}"


async def ensure_probe_image(docker: aiodocker.Docker) -> str:
    tag = probe_tag()
    try:
        await docker.images.inspect(tag)
        return tag
    except aiodocker.DockerError as exc:
        if exc.status != 404:
            raise
    await docker.images.build(
        fileobj=io.BytesIO(_context()),
        encoding="identity",
        tag=tag,
        buildargs={"BASE_IMAGE": BASE_IMAGE},
    )
    await docker.images.inspect(tag)
    return tag


def make_credentials(agent_id: str) -> Credentials:
    return Credentials(
        identity=f"agent_{agent_id}",
        public_key=f"UTESTKEY{agent_id.upper()}",
        jwt="header.claims.signature",
        seed=f"SUTESTSEED{agent_id.upper()}",
        inbox_prefix=f"_INBOX_agent_{agent_id}",
    )


def make_launch(data_dir: Path, agent_id: str, image: str, **changes: object) -> AgentLaunch:
    paths = AgentPaths(data_dir)
    workspace = str(changes.pop("workspace", agent_id))
    paths.global_dir.mkdir(parents=True, exist_ok=True)
    (paths.global_dir / "CLAUDE.md").write_text("# Global instructions\n")
    fields: dict[str, object] = {
        "agent_id": agent_id,
        "workspace": workspace,
        "image": image,
        "env": {"PLAIN": "value", "PRAKTOR_NATS_URL": "nats://unused:4222"},
        "credentials": make_credentials(agent_id),
        "dirs": AgentDirs(
            workspace=paths.workspace_dir(workspace),
            home=paths.home_dir(workspace),
            runtime=paths.runtime_dir(agent_id),
            global_dir=paths.global_dir,
        ),
    }
    fields.update(changes)
    return AgentLaunch(**fields)  # type: ignore[arg-type]


def read_probe(path: Path) -> dict[str, str]:
    """The probe's ``key=value`` lines."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        found[key] = value
    return found


async def remove_install(docker: aiodocker.Docker, install_id: str) -> None:
    """Remove every container, volume and network labelled with ``install_id``."""
    label = {"label": [f"praktor.install={install_id}"]}
    for container in await docker.containers.list(all=True, filters=label):
        try:
            await container.delete(force=True)
        except aiodocker.DockerError as exc:
            if exc.status != 404:
                raise
    volumes = await docker.volumes.list(filters=label)  # type: ignore[no-untyped-call]
    for volume in volumes.get("Volumes") or []:
        found = await docker.volumes.get(volume["Name"])  # type: ignore[no-untyped-call]
        await found.delete()
    for network in await docker.networks.list(filters=label):
        await (await docker.networks.get(network["Id"])).delete()
