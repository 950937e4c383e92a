"""Where the vault passphrase comes from, first found wins.

1. ``PRAKTOR_VAULT_PASSPHRASE_FILE``: a file holding it (what ``praktor up``,
   compose and Helm use); one trailing newline is not part of it;
2. ``PRAKTOR_VAULT_PASSPHRASE``: the environment variable (as upstream);
3. ``vault.passphrase`` in the config.

None of them → the vault refuses to start and says how to set one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PASSPHRASE_FILE_ENV: Final = "PRAKTOR_VAULT_PASSPHRASE_FILE"  # noqa: S105 - a variable name
PASSPHRASE_ENV: Final = "PRAKTOR_VAULT_PASSPHRASE"  # noqa: S105 - a variable name
CONFIG_KEY: Final = "vault.passphrase"
PENDING_SUFFIX: Final = ".new"
"""``praktor vault rotate`` keeps the new passphrase in ``<file>.new`` until the vault confirms."""


class PassphraseError(RuntimeError):
    """No usable passphrase; the message says how to provide one."""


@dataclass(frozen=True)
class Passphrase:
    """A passphrase and where it was read from (the source is safe to print, the value not)."""

    value: str
    source: str
    file: Path | None = None

    def __repr__(self) -> str:
        return f"Passphrase(source={self.source!r}, value=<hidden>)"


HOW_TO_SET: Final = (
    f"set {PASSPHRASE_FILE_ENV} to a file holding it (`praktor up` does this for you), "
    f"or {PASSPHRASE_ENV}, or `{CONFIG_KEY}` in the config"
)


def read_passphrase_file(path: Path) -> str:
    """A passphrase file's content without one trailing line ending."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PassphraseError(f"{PASSPHRASE_FILE_ENV} points at {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PassphraseError(
            f"cannot read the vault passphrase from {path}: {type(exc).__name__}"
        ) from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise PassphraseError(f"the vault passphrase file {path} is empty")
    return value


def load_passphrase(environ: Mapping[str, str], config_passphrase: str = "") -> Passphrase:
    """The passphrase from the first source that has one (see the module docstring)."""
    file = environ.get(PASSPHRASE_FILE_ENV, "").strip()
    if file:
        path = Path(file)
        return Passphrase(read_passphrase_file(path), f"{PASSPHRASE_FILE_ENV}={path}", path)
    value = environ.get(PASSPHRASE_ENV, "")
    if value:
        return Passphrase(value, PASSPHRASE_ENV)
    if config_passphrase:
        return Passphrase(config_passphrase, f"config `{CONFIG_KEY}`")
    raise PassphraseError(f"the vault has no passphrase: {HOW_TO_SET}")


def pending_file(path: Path) -> Path:
    """Where a rotation not yet confirmed keeps the new passphrase."""
    return path.with_name(path.name + PENDING_SUFFIX)
