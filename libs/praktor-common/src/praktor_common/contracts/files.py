"""Files that travel through the NATS object store rather than inside a message."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from praktor_common.contracts.base import Contract

ObjectKey = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
BucketName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
MimeType = Annotated[
    str, StringConstraints(max_length=255, pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
]


def _not_dots(value: str) -> str:
    if value in (".", ".."):
        raise ValueError("a file name cannot be '.' or '..'")
    return value


FileName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$"),
    AfterValidator(_not_dots),
]
"""A base name: no slashes or backslashes, no NUL, not ``.`` or ``..``."""


class FileRef(Contract):
    """A file stored in the NATS object store."""

    bucket: BucketName
    key: ObjectKey
    name: FileName
    """File name to show or save as (base name)."""
    mime_type: MimeType = "application/octet-stream"
    size: int = Field(ge=0)
    """Size in bytes."""


AttachmentKind = Literal["photo", "document", "voice", "audio", "video", "video_note", "animation"]


class Attachment(FileRef):
    """A file a person sent, already copied into the object store by the gateway."""

    kind: AttachmentKind
