"""Where things live in the data directory, and the secrets made on first run.

::

    <data dir>/            0700
      install-id           this install's id (labels everything it creates)
      secrets/             0700: web-password, vault-passphrase, postgres-password
      nats/                bus authority (seeds 0600), creds/, server.conf, store/
      postgres/            the embedded PostgreSQL cluster
      run/                 state.json (what `praktor status` reads), ports.json, logs/

Generated secrets are written once (0600) and never regenerated: a second
``praktor up`` on the same data directory keeps them and everything else.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import uuid_utils


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @property
    def install_id_file(self) -> Path:
        return self.root / "install-id"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def web_password_file(self) -> Path:
        return self.secrets_dir / "web-password"

    @property
    def vault_passphrase_file(self) -> Path:
        return self.secrets_dir / "vault-passphrase"

    @property
    def postgres_password_file(self) -> Path:
        return self.secrets_dir / "postgres-password"

    @property
    def nats_dir(self) -> Path:
        return self.root / "nats"

    @property
    def postgres_dir(self) -> Path:
        return self.root / "postgres"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state.json"

    @property
    def ports_file(self) -> Path:
        return self.run_dir / "ports.json"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    def create(self) -> None:
        """Make the directories (owner-only where secrets live)."""
        for directory, mode in (
            (self.root, 0o700),
            (self.secrets_dir, 0o700),
            (self.nats_dir, 0o700),
            (self.run_dir, 0o700),
            (self.log_dir, 0o700),
        ):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(mode)


def write_private(path: Path, content: str) -> None:
    """Write ``content`` to a new file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


@dataclass(frozen=True)
class FirstRunSecret:
    """A generated secret, and whether it was made just now (then shown once)."""

    name: str
    path: Path
    value: str
    created: bool


def ensure_secret(name: str, path: Path, *, nbytes: int = 24) -> FirstRunSecret:
    """Read ``path``, or create it with a new random value (never regenerated)."""
    if path.exists():
        return FirstRunSecret(name, path, path.read_text().strip(), created=False)
    value = secrets.token_urlsafe(nbytes)
    write_private(path, value + "\n")
    return FirstRunSecret(name, path, value, created=True)


def ensure_install_id(layout: DataLayout) -> str:
    path = layout.install_id_file
    if path.exists():
        return path.read_text().strip()
    install_id = "pk-" + uuid_utils.uuid7().hex[-12:]
    write_private(path, install_id + "\n")
    return install_id


def load_ports(layout: DataLayout) -> dict[str, int]:
    """Ports chosen on an earlier run (reused so URLs stay the same)."""
    try:
        data = json.loads(layout.ports_file.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


def save_ports(layout: DataLayout, ports: dict[str, int]) -> None:
    layout.ports_file.write_text(json.dumps(ports, indent=2, sort_keys=True) + "\n")
