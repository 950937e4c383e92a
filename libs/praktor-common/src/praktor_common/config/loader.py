"""Loading the config: file → YAML → ``${VAR}`` → env overrides → defaults → validation.

Every step collects its problems; they all end up in one :class:`ConfigError`
whose lines read ``<dotted.key>: <bad value> — <what is allowed>``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

import yaml
from pydantic import ValidationError

from praktor_common.config.errors import (
    ConfigError,
    ConfigProblem,
    problems_from_validation_error,
)
from praktor_common.config.expansion import expand_tree
from praktor_common.config.model import PraktorConfig, cross_field_problems
from praktor_common.config.overrides import apply_env_overrides
from praktor_common.config.timezones import detect_local_timezone
from praktor_common.config.types import REVEAL_SECRETS
from praktor_common.ids import InvalidAgentIdError, validate_agent_id

DATA_DIR_ENV = "PRAKTOR_DATA_DIR"


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                hashable = key if isinstance(key, str | int | float | bool) else repr(key)
                if hashable in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {key!r} is given twice in the same block; keep one",
                        key_node.start_mark,
                    )
                seen.add(hashable)
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


def parse_yaml(text: str, source: str = "config") -> dict[str, Any]:
    """The YAML document as a mapping (an empty document is ``{}``)."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(
            [ConfigProblem("", f"YAML error at {where}: {err.problem or err} — fix the syntax")],
            source,
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(
            [ConfigProblem("", f"YAML error: {err} — fix the syntax")], source
        ) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            [
                ConfigProblem(
                    "",
                    f"the file holds a {type(document).__name__}, not a mapping — "
                    "start with sections like 'telegram:' and 'agents:'",
                )
            ],
            source,
        )
    return document


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg) / "praktor"
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".local" / "share" / "praktor"


def _fill_paths(tree: dict[str, Any], environ: Mapping[str, str], base_dir: Path | None) -> None:
    """Make ``data_dir`` and ``nats.data_dir`` absolute (env wins; relative → base_dir)."""
    from_env = environ.get(DATA_DIR_ENV, "")
    raw = tree.get("data_dir")
    if from_env:
        data_dir = Path(from_env).expanduser().absolute()
    elif isinstance(raw, str) and raw:
        data_dir = Path(raw).expanduser()
        if not data_dir.is_absolute():
            data_dir = (base_dir or Path.cwd()) / data_dir
    elif raw is None or raw == "":
        data_dir = _default_data_dir(environ)
    else:
        return  # not a path: validation reports it
    tree["data_dir"] = str(data_dir)
    nats = tree.get("nats")
    if not (nats is None or isinstance(nats, dict)):
        return
    nats = dict(nats or {})
    store = nats.get("data_dir")
    if store is None or store == "":
        nats["data_dir"] = str(data_dir / "nats" / "store")
    elif isinstance(store, str):
        store_path = Path(store).expanduser()
        nats["data_dir"] = str(store_path if store_path.is_absolute() else data_dir / store_path)
    tree["nats"] = nats


def _is_agent_id(value: str) -> bool:
    try:
        validate_agent_id(value)
    except InvalidAgentIdError:
        return False
    return True


def _raw_cross_checks(tree: dict[str, Any]) -> list[ConfigProblem]:
    """The model's cross-key checks on a tree that failed validation elsewhere, so that
    every problem is reported at once. Values of the wrong type are left out."""

    def section(name: str) -> dict[str, Any]:
        value = tree.get(name)
        return value if isinstance(value, dict) else {}

    def is_port(value: object) -> TypeGuard[int]:
        return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535

    ports = PraktorConfig.model_construct().listening_ports()
    raw: dict[str, object] = {
        "web.port": section("web").get("port"),
        "model_proxy.port": section("model_proxy").get("port"),
    }
    health = section("ports").get("health")
    if isinstance(health, dict):
        raw.update({f"ports.health.{name}": value for name, value in health.items()})
    for key, value in raw.items():
        if key in ports and is_port(value):
            ports[key] = value
    agents = tree.get("agents")
    agent_ids = [str(agent) for agent in agents] if isinstance(agents, dict) else []
    default_agent = section("router").get("default_agent", "")
    if not isinstance(default_agent, str) or not all(map(_is_agent_id, agent_ids)):
        agent_ids, default_agent = [], ""  # the agent ids are reported already
    return cross_field_problems(agent_ids, default_agent, ports)


def build_config(
    tree: dict[str, Any],
    environ: Mapping[str, str],
    *,
    source: str = "config",
    base_dir: Path | None = None,
) -> PraktorConfig:
    """Expand, override, fill defaults and validate a parsed YAML mapping."""
    expanded, problems = expand_tree(tree, environ)
    problems.extend(apply_env_overrides(expanded, environ))
    if expanded.get("timezone") in (None, ""):
        expanded["timezone"] = detect_local_timezone(environ)
    _fill_paths(expanded, environ, base_dir)
    try:
        config = PraktorConfig.model_validate(expanded)
    except ValidationError as err:
        found = [*problems_from_validation_error(err, PraktorConfig), *_raw_cross_checks(expanded)]
        reported = {problem.key for problem in problems}
        for problem in found:
            if problem.key not in reported:
                problems.append(problem)
                reported.add(problem.key)
        raise ConfigError(problems, source) from None
    if problems:
        raise ConfigError(problems, source)
    return config


def load_config_text(
    text: str,
    environ: Mapping[str, str] | None = None,
    *,
    source: str = "config",
    base_dir: Path | None = None,
) -> PraktorConfig:
    """Load a config from YAML text (see :func:`load_config`)."""
    env = os.environ if environ is None else environ
    return build_config(parse_yaml(text, source), env, source=source, base_dir=base_dir)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> PraktorConfig:
    """Load and validate the YAML file at ``path``; a missing file means all defaults.

    ``environ`` (default ``os.environ``) feeds ``${VAR}`` expansion, the overrides
    of spec §2.3, ``PRAKTOR_DATA_DIR`` and the default time zone (``TZ``). Relative
    paths in the file are relative to the file's folder. Raises :class:`ConfigError`.
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigError(
            [ConfigProblem("", f"cannot read the file: {reason} — check the path and permissions")],
            source,
        ) from None
    return load_config_text(text, environ, source=source, base_dir=path.parent.absolute())


# -- JSON for distribution ---------------------------------------------------------------


def to_json(config: PraktorConfig) -> str:
    """Canonical JSON of ``config`` with secrets in clear (for the authenticated bus only)."""
    data = config.model_dump(mode="json", context={REVEAL_SECRETS: True})
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_from_json(text: str | bytes) -> PraktorConfig:
    """The config back from :func:`to_json` (validated again). Raises :class:`ConfigError`."""
    try:
        return PraktorConfig.model_validate_json(text)
    except ValidationError as err:
        raise ConfigError(
            problems_from_validation_error(err, PraktorConfig), "config JSON"
        ) from None


def config_sha256(config: PraktorConfig) -> str:
    """SHA-256 (hex) of :func:`to_json`: equal configs have equal hashes."""
    return hashlib.sha256(to_json(config).encode()).hexdigest()
