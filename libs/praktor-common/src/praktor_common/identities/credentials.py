"""A user's credentials: its JWT, its seed, and the inbox prefix it must use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import RawCredentials

_CREDS_TEMPLATE = """-----BEGIN NATS USER JWT-----
{jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
{seed}
------END USER NKEY SEED------

*************************************************************
"""


@dataclass(frozen=True, repr=False)
class Credentials:
    """What one bus identity connects with. ``repr`` never shows the seed."""

    identity: str
    public_key: str
    jwt: str
    seed: str
    inbox_prefix: str
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return (
            f"Credentials(identity={self.identity!r}, public_key={self.public_key!r}, "
            f"expires_at={self.expires_at!r})"
        )

    def creds_text(self) -> str:
        """The NATS ``.creds`` file format (what ``nats --creds`` and every client read)."""
        return _CREDS_TEMPLATE.format(jwt=self.jwt, seed=self.seed)

    def raw(self) -> RawCredentials:
        """For ``nats.connect(user_credentials=...)`` without a file."""
        return RawCredentials(self.creds_text())

    def write(self, path: Path) -> Path:
        """Write the ``.creds`` file, readable by its owner only (0600)."""
        write_private(path, self.creds_text())
        return path

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (directory 0700 if created)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
