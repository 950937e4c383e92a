"""Agents' host-side files: workspaces, the global dir, USER.md and AGENT.md.

Writes are atomic (a temporary file renamed over the old one) and a file gets
the owner of its directory, so a workspace that belongs to the agent's user
stays writable by the agent after the orchestrator (root) edits it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from . import templates
from .paths import AgentPaths

AGENTS_ROOT_MODE = 0o711
"""Agents may pass through ``<data>/agents`` to their own directories, not list it."""
WORKSPACE_MODE = 0o700
GLOBAL_MODE = 0o755
FILE_MODE = 0o644

USER_MD = "USER.md"
AGENT_MD = "AGENT.md"
CLAUDE_MD = "CLAUDE.md"


def ensure_agents_root(paths: AgentPaths) -> Path:
    root = paths.agents_root
    if not root.exists():
        root.mkdir(parents=True, mode=AGENTS_ROOT_MODE)
        root.chmod(AGENTS_ROOT_MODE)
    return root


def ensure_global_dir(paths: AgentPaths) -> Path:
    """``<data>/agents/global`` with CLAUDE.md and USER.md, each created only if missing."""
    ensure_agents_root(paths)
    directory = paths.global_dir
    if not directory.exists():
        directory.mkdir(mode=GLOBAL_MODE)
        directory.chmod(GLOBAL_MODE)
    create_if_missing(directory / CLAUDE_MD, templates.GLOBAL_CLAUDE_MD)
    create_if_missing(directory / USER_MD, templates.USER_MD)
    return directory


def ensure_workspace(paths: AgentPaths, workspace: str) -> Path:
    """An agent's workspace with CLAUDE.md and AGENT.md, each created only if missing."""
    ensure_agents_root(paths)
    directory = paths.workspace_dir(workspace)
    if not directory.exists():
        directory.mkdir(mode=WORKSPACE_MODE)
        directory.chmod(WORKSPACE_MODE)
    create_if_missing(directory / CLAUDE_MD, templates.AGENT_CLAUDE_MD)
    create_if_missing(directory / AGENT_MD, templates.AGENT_MD)
    return directory


def create_if_missing(path: Path, content: str) -> bool:
    """Write ``content`` unless ``path`` exists (an existing file is never touched)."""
    if path.exists():
        return False
    write_text(path, content)
    return True


class NotARegularFileError(OSError):
    """A file an agent may have replaced with a symlink, a FIFO or a directory."""


def read_text(path: Path, limit: int = 1024 * 1024) -> str:
    """The file's text (at most ``limit`` bytes), or ``""`` when it does not exist.

    A symlink is refused, not followed: an agent owns its workspace and could
    otherwise point ``AGENT.md`` at a file only the orchestrator may read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise NotARegularFileError(f"{path.name} is not a regular file") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotARegularFileError(f"{path.name} is not a regular file")
        return handle.read(limit).decode("utf-8", errors="replace")


def write_text(path: Path, content: str, mode: int = FILE_MODE) -> None:
    """Replace ``path`` atomically; the file gets its directory's owner."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        _give_to_directory_owner(tmp, directory)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _give_to_directory_owner(path: Path, directory: Path) -> None:
    if os.geteuid() != 0:
        return
    owner = directory.stat()
    if (owner.st_uid, owner.st_gid) != (0, 0):
        os.chown(path, owner.st_uid, owner.st_gid)
