"""The agent image's build inputs: what goes into the context and how its tag is derived."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from praktor_common.agent_image import (
    DOCKERFILE,
    SourceNotFoundError,
    context_files,
    context_tar,
    find_source,
    plan,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files the image is built from (so tests may change them)."""
    for name in context_files(REPO):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, target)
    return tmp_path


def test_the_context_is_the_lock_the_pyprojects_and_the_runner_and_common_sources() -> None:
    files = context_files(REPO)
    assert DOCKERFILE in files
    assert "uv.lock" in files
    assert "services/orchestrator/pyproject.toml" in files
    assert "agent-runner/src/praktor_agent_runner/main.py" in files
    assert "libs/praktor-common/src/praktor_common/config/model.py" in files
    assert not [f for f in files if f.startswith("services/") and "/src/" in f]
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]


def test_the_same_inputs_give_the_same_tag_and_context(checkout: Path) -> None:
    first, second = plan(checkout), plan(checkout)
    assert first.tag == second.tag
    assert first.tag.startswith("praktor-agent:")
    assert len(first.tag.split(":")[1]) == 16
    assert context_tar(checkout, first.files) == context_tar(checkout, second.files)


@pytest.mark.parametrize(
    "changed", [DOCKERFILE, "uv.lock", "agent-runner/src/praktor_agent_runner/main.py"]
)
def test_any_input_change_gives_a_new_tag(checkout: Path, changed: str) -> None:
    before = plan(checkout).tag
    with (checkout / changed).open("a") as handle:
        handle.write("\n# changed\n")
    assert plan(checkout).tag != before


def test_the_base_image_and_extra_cas_are_inputs_too(checkout: Path, tmp_path: Path) -> None:
    ca = tmp_path / "proxy.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    default = plan(checkout)
    assert plan(checkout, base_image="localhost/debian:bookworm").tag != default.tag
    with_ca = plan(checkout, ca_certs=[ca])
    assert with_ca.tag != default.tag
    with tarfile.open(fileobj=io.BytesIO(context_tar(checkout, with_ca.files, with_ca.extra))) as t:
        assert "agent-runner/build-ca/extra-0-proxy.crt" in t.getnames()


def test_the_source_is_found_above_the_current_directory(checkout: Path) -> None:
    assert find_source(checkout / "agent-runner" / "src") == checkout
    with pytest.raises(SourceNotFoundError, match="--source"):
        find_source(Path("/"))
