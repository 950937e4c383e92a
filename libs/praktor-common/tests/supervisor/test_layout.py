"""First-run secrets are made once, private, and never regenerated."""

from __future__ import annotations

import stat
from pathlib import Path

from praktor_common.supervisor.layout import (
    DataLayout,
    ensure_install_id,
    ensure_secret,
    load_ports,
    save_ports,
)


def test_directories_holding_secrets_are_owner_only(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path / "data")
    layout.create()
    for directory in (layout.root, layout.secrets_dir, layout.nats_dir, layout.run_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_secret_is_generated_once_0600_and_then_only_read(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "web-password"
    first = ensure_secret("password", path)
    again = ensure_secret("password", path)
    assert first.created
    assert not again.created
    assert first.value == again.value
    assert len(first.value) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_two_installs_get_different_secrets_and_ids(tmp_path: Path) -> None:
    a, b = DataLayout(tmp_path / "a"), DataLayout(tmp_path / "b")
    a.create()
    b.create()
    assert ensure_install_id(a) != ensure_install_id(b)
    assert ensure_install_id(a) == ensure_install_id(a)
    assert (
        ensure_secret("x", a.vault_passphrase_file).value
        != ensure_secret("x", b.vault_passphrase_file).value
    )


def test_ports_chosen_once_are_remembered(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    layout.create()
    assert load_ports(layout) == {}
    save_ports(layout, {"nats": 14222, "postgres": 15432})
    assert load_ports(layout) == {"nats": 14222, "postgres": 15432}
