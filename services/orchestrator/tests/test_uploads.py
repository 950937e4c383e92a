"""Files people sent: from the object store into the workspace's uploads/, names made safe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from praktor_common.contracts.files import Attachment
from praktor_common.filestore import FILES_BUCKET, files_bucket
from praktor_common.testing.nats import NatsTestServer
from praktor_orchestrator.uploads import (
    SavedUpload,
    UploadError,
    received_lines,
    save_uploads,
    write_upload,
)


def attachment(name: str, key: str, size: int) -> Attachment:
    return Attachment(
        bucket=FILES_BUCKET, key=key, name=name, mime_type="text/plain", size=size, kind="document"
    )


def test_a_file_lands_in_uploads_with_a_safe_name(tmp_path: Path) -> None:
    relative = write_upload(tmp_path, "1_..\\..\\evil name.txt", b"x")
    assert relative == "uploads/evil name.txt"
    assert (tmp_path / relative).read_bytes() == b"x"


def test_a_symlinked_uploads_dir_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    os.symlink(outside, workspace / "uploads")
    with pytest.raises(UploadError):
        write_upload(workspace, "a.txt", b"x")
    assert list(outside.iterdir()) == []


def test_an_existing_file_or_link_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    target = tmp_path / "secret"
    target.write_text("keep")
    os.symlink(target, tmp_path / "uploads" / "a.txt")
    with pytest.raises(FileExistsError):
        write_upload(tmp_path, "a.txt", b"overwrite?")
    assert target.read_text() == "keep"


def test_the_turn_text_names_each_file() -> None:
    saved = SavedUpload(attachment("r.txt", "k", 3), "uploads/1_r.txt")
    lost = attachment("gone.txt", "k2", 1)
    text = received_lines([saved], [lost])
    assert text.splitlines() == [
        "[File received: r.txt (text/plain, 3 bytes) saved to uploads/1_r.txt in your workspace]",
        "[File gone.txt could not be saved: ask the person to send it again]",
    ]


@pytest.mark.integration
async def test_files_are_copied_from_the_object_store_by_the_orchestrator(
    nats_clients: NatsTestServer, fresh_streams: JetStreamContext, tmp_path: Path
) -> None:
    gateway = await nats_clients.connect("gateway-telegram")
    store = await files_bucket(gateway.jetstream())
    await store.put("telegram/42/7/report.txt", b"numbers" * 100_000)
    orchestrator = await nats_clients.connect("orchestrator")
    files = [
        attachment("report.txt", "telegram/42/7/report.txt", 700_000),
        attachment("missing.txt", "telegram/42/8/missing.txt", 1),
    ]
    stamps = iter([111, 222])
    saved, failed = await save_uploads(
        orchestrator.jetstream(), tmp_path, files, clock=lambda: next(stamps)
    )
    assert [s.relative_path for s in saved] == ["uploads/111_report.txt"]
    assert (tmp_path / "uploads" / "111_report.txt").read_bytes() == b"numbers" * 100_000
    assert [f.name for f in failed] == ["missing.txt"]
