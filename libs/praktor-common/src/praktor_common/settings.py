"""How a process finds the things around it: read from the environment only.

These are not the user's YAML config (see :mod:`praktor_common.config`); they
say where the bus, the database, the data directory and the config file are,
and which identity this process speaks with. ``praktor up`` sets them for every
process it starts; compose and Helm set them in each container.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """``$PRAKTOR_DATA_DIR``, else ``$XDG_DATA_HOME/praktor``, else ``~/.local/share/praktor``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "praktor"


class RuntimeSettings(BaseSettings):
    """Environment of one Praktor process (prefix ``PRAKTOR_``)."""

    model_config = SettingsConfigDict(env_prefix="PRAKTOR_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    config: Path | None = None
    nats_url: str | None = None
    nats_creds: Path | None = None
    database_url: str | None = None
    install_id: str | None = None
    health_host: str = "127.0.0.1"
    health_port: int | None = None
    log_format: str = "json"
    supervisor_pid: int | None = None
    log_level: str = "info"

    def config_path(self) -> Path:
        """The YAML file: ``$PRAKTOR_CONFIG``, else ``<data dir>/praktor.yaml``."""
        return self.config if self.config is not None else self.data_dir / "praktor.yaml"
