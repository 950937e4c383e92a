"""Agents' host files: created once, never overwritten, never followed through a symlink."""

from __future__ import annotations

from pathlib import Path

import pytest

from praktor_orchestrator import files
from praktor_orchestrator.paths import AgentPaths


def test_a_workspace_starts_with_its_templates_and_keeps_edits(tmp_path: Path) -> None:
    paths = AgentPaths(tmp_path)
    workspace = files.ensure_workspace(paths, "coder")
    assert workspace == tmp_path / "agents" / "coder"
    assert workspace.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "agents").stat().st_mode & 0o777 == 0o711
    (workspace / "AGENT.md").write_text("mine")

    files.ensure_workspace(paths, "coder")

    assert (workspace / "AGENT.md").read_text() == "mine"
    assert (workspace / "CLAUDE.md").read_text().startswith("# Agent Memory")


def test_the_global_dir_is_readable_by_agents(tmp_path: Path) -> None:
    directory = files.ensure_global_dir(AgentPaths(tmp_path))
    assert directory.stat().st_mode & 0o777 == 0o755
    assert (directory / "USER.md").stat().st_mode & 0o777 == 0o644


def test_a_missing_file_reads_as_empty_and_a_symlink_is_refused(tmp_path: Path) -> None:
    assert files.read_text(tmp_path / "missing.md") == ""
    target = tmp_path / "secret"
    target.write_text("do not read")
    link = tmp_path / "AGENT.md"
    link.symlink_to(target)
    with pytest.raises(files.NotARegularFileError):
        files.read_text(link)


def test_writing_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    link = tmp_path / "AGENT.md"
    link.symlink_to(target)

    files.write_text(link, "new content")

    assert not link.is_symlink()
    assert link.read_text() == "new content"
    assert target.read_text() == "untouched"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", ".hidden", "global"])
def test_a_workspace_name_cannot_escape_or_collide(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="workspace"):
        AgentPaths(tmp_path).workspace_dir(name)
