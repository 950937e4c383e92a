"""Tar archives that place files into a container before it starts (spec §10.4)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import PurePosixPath

from .base import AgentFile


class FilePathError(ValueError):
    """A target that is not a clean absolute path inside the container."""


def target_path(target: str) -> PurePosixPath:
    """``target`` as a clean absolute path (no ``..``, no empty or ``.`` parts)."""
    path = PurePosixPath(target)
    parts = target.split("/")[1:]
    if not path.is_absolute() or not parts or any(p in ("", ".", "..") for p in parts):
        raise FilePathError(f"secret file target {target!r} must be a clean absolute path")
    return path


def dir_mode(file_mode: int) -> int:
    """A parent directory's mode: the file's plus an execute bit per read bit (0600 → 0700)."""
    mode = file_mode & 0o777
    return mode | ((mode & 0o444) >> 2)


def files_archive(files: Iterable[AgentFile], uid: int, existing: Iterable[str] = ()) -> bytes:
    """One tar (extracted at ``/``) with every file and the parent directories it needs,
    all owned by ``uid``; a directory shared by several files gets the widest mode.

    Top-level directories (``/home``, ``/etc``) and those in ``existing`` (the mount
    points) are left as they are: only directories below them are created or changed.
    """
    keep = {PurePosixPath(p) for p in existing}
    dirs: dict[PurePosixPath, int] = {}
    entries: list[tuple[PurePosixPath, AgentFile]] = []
    for item in files:
        path = target_path(item.target)
        entries.append((path, item))
        for parent in path.parents:
            if len(parent.parts) <= 2 or parent in keep:
                continue
            dirs[parent] = dirs.get(parent, 0) | dir_mode(item.mode)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in sorted(dirs, key=lambda p: len(p.parts)):
            info = tarfile.TarInfo(str(directory).lstrip("/"))
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, dirs[directory], uid, uid
            tar.addfile(info)
        for path, item in entries:
            info = tarfile.TarInfo(str(path).lstrip("/"))
            info.size, info.mode, info.uid, info.gid = (
                len(item.content),
                item.mode & 0o777,
                uid,
                uid,
            )
            tar.addfile(info, io.BytesIO(item.content))
    return buffer.getvalue()
