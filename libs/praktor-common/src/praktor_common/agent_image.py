"""The agent image: its build context, its tag (a hash of its inputs) and its build.

The inputs are ``agent-runner/Dockerfile``, the workspace's ``uv.lock`` and
pyproject files, the sources of praktor-common and the agent-runner, and the
base image: the same inputs give the same tag, so a build is skipped when the
engine already has that tag (Chromium and the ~400 MB Claude Code CLI make a
build slow). The build goes through the Docker API (Docker or Podman).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiodocker

DOCKERFILE: Final = "agent-runner/Dockerfile"
DEFAULT_NAME: Final = "praktor-agent"
DEFAULT_BASE: Final = "debian:bookworm-slim"
SOURCE_TREES: Final = ("libs/praktor-common/src", "agent-runner/src", "agent-runner/build-ca")
CA_DIR: Final = "agent-runner/build-ca"
TOP_FILES: Final = ("pyproject.toml", "uv.lock", DOCKERFILE, "agent-runner/pyproject.toml")
SKIPPED: Final = ("__pycache__", ".pyc", ".pyo", ".mypy_cache", ".pytest_cache")


class SourceNotFoundError(RuntimeError):
    """The repository (with agent-runner/Dockerfile) is not where we looked."""


class BuildFailedError(RuntimeError):
    """The engine reported an error while building."""


def find_source(start: Path) -> Path:
    """The repository root at or above ``start`` (where ``agent-runner/Dockerfile`` is)."""
    for directory in (start, *start.parents):
        if (directory / DOCKERFILE).is_file() and (directory / "uv.lock").is_file():
            return directory
    raise SourceNotFoundError(
        f"no {DOCKERFILE} at or above {start}: run this in a Praktor checkout or pass --source"
    )


def context_files(root: Path) -> list[str]:
    """The build context, as sorted paths relative to ``root``."""
    found = {name for name in TOP_FILES if (root / name).is_file()}
    found |= {str(p.relative_to(root)) for p in root.glob("libs/*/pyproject.toml")}
    found |= {str(p.relative_to(root)) for p in root.glob("services/*/pyproject.toml")}
    for tree in SOURCE_TREES:
        for path in (root / tree).rglob("*"):
            if path.is_file() and not _skipped(path):
                found.add(str(path.relative_to(root)))
    return sorted(found)


def _skipped(path: Path) -> bool:
    return any(part in SKIPPED for part in path.parts) or path.suffix in SKIPPED


def input_hash(
    root: Path, files: Iterable[str], base_image: str, extra: Mapping[str, bytes] | None = None
) -> str:
    """A hash of the base image name and every context file's path and content."""
    digest = hashlib.sha256()
    digest.update(f"base={base_image}\0".encode())
    for name, content in _contents(root, files, extra):
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def _contents(
    root: Path, files: Iterable[str], extra: Mapping[str, bytes] | None
) -> list[tuple[str, bytes]]:
    found = {name: (root / name).read_bytes() for name in files}
    found.update(extra or {})
    return sorted(found.items())


def ca_entries(certs: Iterable[Path]) -> dict[str, bytes]:
    """Context entries for extra CA certificates (``--ca-cert``), named ``*.crt``."""
    return {
        f"{CA_DIR}/extra-{i}-{cert.stem}.crt": cert.read_bytes() for i, cert in enumerate(certs)
    }


def context_tar(
    root: Path, files: Iterable[str], extra: Mapping[str, bytes] | None = None
) -> bytes:
    """The build context as a tar, with fixed owners and times (same inputs, same bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in _contents(root, files, extra):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@dataclass(frozen=True)
class ImagePlan:
    """What ``praktor agent-image build`` builds."""

    root: Path
    files: tuple[str, ...]
    base_image: str
    name: str
    digest: str
    extra: Mapping[str, bytes] = field(default_factory=dict)
    """Context entries that are not files of the checkout (extra CA certificates)."""

    @property
    def tag(self) -> str:
        """``<name>:<first 16 hex of the input hash>``."""
        return f"{self.name}:{self.digest[:16]}"

    @property
    def latest(self) -> str:
        return f"{self.name}:latest"


def plan(
    root: Path,
    base_image: str = DEFAULT_BASE,
    name: str = DEFAULT_NAME,
    ca_certs: Iterable[Path] = (),
) -> ImagePlan:
    files = tuple(context_files(root))
    extra = ca_entries(ca_certs)
    digest = input_hash(root, files, base_image, extra)
    return ImagePlan(root, files, base_image, name, digest, extra)


async def image_exists(docker: aiodocker.Docker, reference: str) -> bool:
    try:
        await docker.images.inspect(reference)
    except aiodocker.DockerError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def build(docker: aiodocker.Docker, image: ImagePlan) -> AsyncIterator[str]:
    """Build ``image`` and tag it (hash tag and ``latest``), yielding the engine's progress
    lines; raises :class:`BuildFailedError` with the engine's message when a step fails."""
    context = io.BytesIO(context_tar(image.root, image.files, image.extra))
    stream = docker.images.build(
        fileobj=context,
        encoding="identity",
        path_dockerfile=DOCKERFILE,
        tag=image.tag,
        buildargs={"BASE_IMAGE": image.base_image},
        labels={"praktor.image": "agent", "praktor.inputs": image.digest},
        stream=True,
    )
    try:
        async for item in stream:
            line = _progress(item)
            if line is not None:
                yield line
    except aiodocker.DockerError as exc:
        raise BuildFailedError(str(exc.message)) from exc
    if not await image_exists(docker, image.tag):
        raise BuildFailedError(f"the engine finished without an image tagged {image.tag}")
    await tag_latest(docker, image)


async def tag_latest(docker: aiodocker.Docker, image: ImagePlan) -> None:
    await docker.images.tag(image.tag, image.name, tag="latest")


def _progress(item: dict[str, Any]) -> str | None:
    if "error" in item:
        detail = item.get("errorDetail") or {}
        raise BuildFailedError(str(detail.get("message") or item["error"]).strip())
    text = item.get("stream") or item.get("status")
    if not isinstance(text, str):
        return None
    text = text.rstrip("\n")
    return text if text.strip() else None
