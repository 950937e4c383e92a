"""`praktor agent-image tag` names the image a build would give, so scripts can use it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from praktor_common.agent_image import plan
from praktor_common.cli.main import app


def checkout(root: Path) -> Path:
    """The files of a Praktor checkout that go into the agent image."""
    for name, text in {
        "uv.lock": "version = 1\n",
        "pyproject.toml": "[tool.uv.workspace]\n",
        "agent-runner/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n",
        "agent-runner/src/praktor_agent_runner/__init__.py": "",
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tag(*args: str) -> str:
    result = CliRunner().invoke(app, ["agent-image", "tag", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_the_tag_is_the_one_a_build_with_the_same_options_gives(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    ca = tmp_path / "proxy.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

    plain = tag("--source", str(root), "--base", "localhost/debian:bookworm")
    with_ca = tag(
        "--source", str(root), "--base", "localhost/debian:bookworm", "--ca-cert", str(ca)
    )

    assert plain == plan(root, base_image="localhost/debian:bookworm").tag
    assert with_ca == plan(root, base_image="localhost/debian:bookworm", ca_certs=[ca]).tag
    assert plain.startswith("praktor-agent:")
    assert plain != with_ca


def test_a_change_to_the_runner_gives_a_new_tag(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    before = tag("--source", str(root))

    (root / "agent-runner/src/praktor_agent_runner/__init__.py").write_text("VERSION = 2\n")

    assert tag("--source", str(root)) != before


def test_outside_a_checkout_it_says_where_to_run_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["agent-image", "tag", "--source", str(tmp_path)])

    assert result.exit_code == 1
    assert "--source" in " ".join(result.output.split())
