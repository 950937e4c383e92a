"""Where the vault passphrase comes from: file, then environment, then config."""

from __future__ import annotations

from pathlib import Path

import pytest

from praktor_vault.passphrase import (
    PassphraseError,
    load_passphrase,
    pending_file,
    read_passphrase_file,
)


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "vault-passphrase"
    path.write_text("from the file\n")
    return path


def test_the_file_wins_over_the_environment_and_the_config(passphrase_file: Path) -> None:
    env = {
        "PRAKTOR_VAULT_PASSPHRASE_FILE": str(passphrase_file),
        "PRAKTOR_VAULT_PASSPHRASE": "from the env",
    }
    found = load_passphrase(env, "from the config")
    assert found.value == "from the file"
    assert found.file == passphrase_file
    assert str(passphrase_file) in found.source


def test_the_environment_wins_over_the_config() -> None:
    found = load_passphrase({"PRAKTOR_VAULT_PASSPHRASE": "from the env"}, "from the config")
    assert (found.value, found.source, found.file) == (
        "from the env",
        "PRAKTOR_VAULT_PASSPHRASE",
        None,
    )


def test_the_config_is_the_last_resort() -> None:
    found = load_passphrase({}, "from the config")
    assert found.value == "from the config"
    assert "vault.passphrase" in found.source


def test_without_any_source_the_error_says_how_to_set_one() -> None:
    with pytest.raises(PassphraseError) as raised:
        load_passphrase({"PRAKTOR_VAULT_PASSPHRASE": ""}, "")
    message = str(raised.value)
    for way in ("PRAKTOR_VAULT_PASSPHRASE_FILE", "PRAKTOR_VAULT_PASSPHRASE", "vault.passphrase"):
        assert way in message


def test_a_named_file_that_is_missing_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    env = {
        "PRAKTOR_VAULT_PASSPHRASE_FILE": str(tmp_path / "nope"),
        "PRAKTOR_VAULT_PASSPHRASE": "from the env",
    }
    with pytest.raises(PassphraseError, match="no such file"):
        load_passphrase(env)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("secret\n", "secret"),
        ("secret\r\n", "secret"),
        ("secret", "secret"),
        ("  spaced secret  \n", "  spaced secret  "),
        ("two\nlines\n", "two\nlines"),
    ],
)
def test_only_one_trailing_line_ending_is_dropped_from_a_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "p"
    path.write_bytes(content.encode())
    assert read_passphrase_file(path) == expected


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_text("\n")
    with pytest.raises(PassphraseError, match="empty"):
        read_passphrase_file(path)


def test_the_value_never_shows_in_the_repr(passphrase_file: Path) -> None:
    found = load_passphrase({"PRAKTOR_VAULT_PASSPHRASE_FILE": str(passphrase_file)})
    assert "from the file" not in repr(found)


def test_a_rotation_waits_with_the_new_passphrase_next_to_the_file(tmp_path: Path) -> None:
    assert pending_file(tmp_path / "vault-passphrase") == tmp_path / "vault-passphrase.new"
