"""Who an agent process runs as, and what that user may reach on the host.

As root, the process runtime runs agents as an unprivileged system user
(``praktor-agent``, created with ``useradd --system`` when missing), which
owns the agent's workspace, home and runtime dir and nothing else of the data
directory. Directories are never made readable for it; at most the data
directory gets the search bit (``x`` for others, as the embedded PostgreSQL
does), so the user can reach ``<data>/agents/...`` by name without listing
anything. Directories outside the data directory are not changed: when the
user cannot pass one of them, starting an agent fails with a message naming it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


class AccessError(RuntimeError):
    """The agent user cannot be created or cannot reach what it needs."""


@dataclass(frozen=True)
class RunAs:
    """The user (and groups) an agent process runs as."""

    name: str
    uid: int
    gid: int
    groups: frozenset[int]
    switches: bool
    """True when this differs from the orchestrator's own user (we are root)."""

    def may(self, path: Path, bit_owner: int, bit_group: int, bit_other: int) -> bool:
        """Whether this user has the given permission on ``path`` by its mode bits."""
        info = path.stat()
        if self.uid == 0:
            return True
        if info.st_uid == self.uid:
            return bool(info.st_mode & bit_owner)
        if info.st_gid in self.groups:
            return bool(info.st_mode & bit_group)
        return bool(info.st_mode & bit_other)

    def can_search(self, directory: Path) -> bool:
        return self.may(directory, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)

    def can_execute(self, path: Path) -> bool:
        return self.may(path, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH) and self.may(
            path, stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH
        )

    def first_blocked_parent(self, path: Path) -> Path | None:
        """The first directory above ``path`` (from ``/`` down) this user cannot pass."""
        for directory in reversed(path.parents):
            if not self.can_search(directory):
                return directory
        return None


def current_user() -> RunAs:
    uid, gid = os.geteuid(), os.getegid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return RunAs(name, uid, gid, frozenset([gid, *os.getgroups()]), switches=False)


def agent_user(name: str) -> RunAs:
    """``name`` as a :class:`RunAs`, created as a system user first when missing (root only)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = _create_system_user(name)
    if entry.pw_uid == 0:
        raise AccessError(f"the agent user {name!r} is root; agents must never run as root")
    groups = frozenset(os.getgrouplist(name, entry.pw_gid))
    return RunAs(name, entry.pw_uid, entry.pw_gid, groups, switches=entry.pw_uid != os.geteuid())


def _create_system_user(name: str) -> pwd.struct_passwd:
    useradd = shutil.which("useradd")
    if useradd is None:
        raise AccessError(
            f"agents run as the unprivileged user {name!r}, which does not exist, and "
            "'useradd' is not available to create it: create it yourself "
            f"(useradd --system --no-create-home --shell /usr/sbin/nologin {name})"
        )
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise AccessError(f"could not create the agent user {name!r}: {result.stderr.strip()}")
    log.info("agent user created", user=name)
    return pwd.getpwnam(name)


def allow_search(directory: Path) -> bool:
    """Give others the search bit on ``directory`` (never read); True if it changed."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & stat.S_IXOTH:
        return False
    directory.chmod(mode | stat.S_IXOTH)
    return True


def own_tree(root: Path, run_as: RunAs) -> None:
    """Give ``root`` and everything below it to ``run_as`` (symlinks themselves, not targets)."""
    if not run_as.switches:
        return
    _own(root, run_as)
    for directory, dirs, files in os.walk(root, followlinks=False):
        for name in (*dirs, *files):
            _own(Path(directory) / name, run_as)


def _own(path: Path, run_as: RunAs) -> None:
    info = path.lstat()
    if (info.st_uid, info.st_gid) != (run_as.uid, run_as.gid):
        os.lchown(path, run_as.uid, run_as.gid)


def exposed_entries(data_dir: Path) -> list[str]:
    """Names directly in the data directory that others may read (reachable once searchable)."""
    exposed = []
    for entry in sorted(data_dir.iterdir()):
        if entry.name == "agents" or entry.is_symlink():
            continue
        if stat.S_IMODE(entry.stat().st_mode) & stat.S_IROTH:
            exposed.append(entry.name)
    return exposed
