"""config/praktor.example.yaml loads, shows the defaults, and documents every key."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from praktor_common.config.loader import load_config, load_config_text
from praktor_common.config.model import PraktorConfig, SecurityOverride, SecurityProfile

EXAMPLE = Path(__file__).resolve().parents[4] / "config" / "praktor.example.yaml"
BASE_ENV = {"TZ": "UTC", "HOME": "/home/tester"}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def field_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key of the model, dotted; ``*`` stands for any agent id or list item."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        annotation = field.annotation
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is dict and _model_in(args[1]):
            paths += field_paths(_model_in(args[1]), f"{path}.*.")  # type: ignore[arg-type]
        elif origin is list and args and _model_in(args[0]):
            paths += field_paths(_model_in(args[0]), f"{path}.*.")  # type: ignore[arg-type]
        else:
            nested = _model_in(annotation)
            # An agent's security override has the fields of defaults.security (checked below).
            if nested is not None and nested is not SecurityOverride:
                paths += field_paths(nested, f"{path}.")
    return paths


def present(tree: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else []
        return any(present(item, rest) for item in items)
    return isinstance(tree, dict) and head in tree and present(tree[head], rest)


def test_the_example_loads() -> None:
    config = load_config(EXAMPLE, BASE_ENV)
    assert set(config.agents) == {"general", "coder"}


def test_the_example_names_every_key_of_the_model() -> None:
    tree = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    missing = [path for path in field_paths(PraktorConfig) if not present(tree, path.split("."))]
    assert missing == [], f"add these keys to {EXAMPLE.name}: {missing}"


def test_the_agent_security_override_has_the_fields_of_the_defaults() -> None:
    assert list(SecurityOverride.model_fields) == list(SecurityProfile.model_fields)


def test_the_example_shows_the_defaults_outside_its_sample_agents() -> None:
    example = load_config(EXAMPLE, BASE_ENV).model_dump(exclude={"agents", "router"})
    defaults = load_config_text("", BASE_ENV).model_dump(exclude={"agents", "router"})
    assert example == defaults


def test_the_field_walk_sees_nested_keys() -> None:
    paths = field_paths(PraktorConfig)
    assert "agents.*.files.*.mode" in paths
    assert "ports.health.gateway_telegram" in paths
    assert "defaults.security.readonly_rootfs" in paths
