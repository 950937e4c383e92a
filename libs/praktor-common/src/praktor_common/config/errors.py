"""Config problems and how they read: ``<dotted.key>: <bad value> — <what is allowed>``."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from praktor_common.config.types import Sensitive

HIDDEN: Final = "'***'"
_MAX_SHOWN: Final = 60


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the config, named by its dotted key (``""`` for the whole file)."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


class ConfigError(ValueError):
    """The config cannot be used. ``problems`` lists every reason, not only the first."""

    def __init__(self, problems: Iterable[ConfigProblem], source: str = "config") -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        self.source = source
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source} is invalid ({count} {noun}); fix and try again:\n{lines}")


class CrossFieldError(ValueError):
    """Raised by model validators: problems that involve several keys, each named."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = tuple(problems)


def format_key(loc: Sequence[int | str]) -> str:
    """``("agents", "coder", "files", 0, "mode")`` → ``"agents.coder.files[0].mode"``."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else part
    return key


def show_value(value: object, *, sensitive: bool = False) -> str:
    """A short, safe rendering of a bad value (secrets are masked)."""
    if sensitive:
        return "''" if value in ("", None) else HIDDEN
    if isinstance(value, SecretStr):
        return HIDDEN
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


# -- walking a model along an error location ---------------------------------------------


@dataclass(frozen=True)
class _Spot:
    annotation: Any
    sensitive: bool


def _strip(annotation: Any, sensitive: bool) -> tuple[Any, bool]:
    """Unwrap ``Annotated`` and ``X | None`` down to the type that holds the value."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            sensitive = sensitive or any(isinstance(meta, Sensitive) for meta in args[1:])
            annotation = args[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = members[0] if len(members) == 1 else annotation
            if len(members) != 1:
                return annotation, sensitive
        else:
            return annotation, sensitive or annotation is SecretStr


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _step(spot: _Spot, part: int | str) -> _Spot | None:
    model = _model_of(spot.annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        sensitive = spot.sensitive or any(isinstance(m, Sensitive) for m in field.metadata)
        annotation, sensitive = _strip(field.annotation, sensitive)
        return _Spot(annotation, sensitive)
    origin = typing.get_origin(spot.annotation)
    args = typing.get_args(spot.annotation)
    if origin is dict and len(args) == 2:
        return _Spot(*_strip(args[1], spot.sensitive))
    if origin in (list, tuple) and args:
        return _Spot(*_strip(args[0], spot.sensitive))
    return None


def _walk(root: type[BaseModel], loc: Sequence[int | str]) -> list[_Spot | None]:
    """The spot at each prefix of ``loc``: ``[root, loc[:1], loc[:2], ...]``."""
    spots: list[_Spot | None] = [_Spot(root, False)]
    for part in loc:
        current = spots[-1]
        spots.append(None if current is None else _step(current, part))
    return spots


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


# -- turning pydantic errors into problems -----------------------------------------------


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _allowed_text(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    simple = {
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "bool_parsing": "must be true or false",
        "bool_type": "must be true or false",
        "string_type": "must be text (put it in quotes)",
        "list_type": "must be a list (one '- item' per line)",
        "dict_type": "must be a mapping of 'key: value' lines",
        "missing": "is required",
        "path_type": "must be a file system path",
    }
    if kind in simple:
        return simple[kind]
    if kind == "greater_than_equal":
        return f"must be {_number(ctx['ge'])} or more"
    if kind == "greater_than":
        return f"must be more than {_number(ctx['gt'])}"
    if kind == "less_than_equal":
        return f"must be {_number(ctx['le'])} or less"
    if kind == "less_than":
        return f"must be less than {_number(ctx['lt'])}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    return str(error["msg"])


def problems_from_validation_error(
    error: ValidationError, root: type[BaseModel], prefix: Sequence[int | str] = ()
) -> list[ConfigProblem]:
    """Every error of ``error`` as a problem naming its dotted key, secrets masked."""
    problems: list[ConfigProblem] = []
    for details in error.errors():
        loc = [*prefix, *details["loc"]]
        ctx = details.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, CrossFieldError):
            problems.extend(cause.problems)
            continue
        if loc and loc[-1] == "[key]":
            key_loc = loc[:-1]
            problems.append(
                ConfigProblem(
                    format_key(key_loc),
                    f"{show_value(details['input'])} as a key — {_allowed_text(details)}",
                )
            )
            continue
        spots = _walk(root, loc)
        spot = spots[-1]
        parent = spots[-2] if len(spots) >= 2 else None
        key = format_key(loc)
        if details["type"] == "extra_forbidden":
            parent_model = _model_of(parent.annotation) if parent else None
            allowed = allowed_keys(parent_model) if parent_model else []
            hint = ""
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
            problems.append(
                ConfigProblem(
                    key, f"unknown key{hint} — allowed here: {', '.join(allowed) or 'none'}"
                )
            )
            continue
        model = _model_of(spot.annotation) if spot else None
        if details["type"] in ("model_type", "model_attributes_type") and model is not None:
            allowed_text = f"must be a mapping with keys: {', '.join(allowed_keys(model))}"
        else:
            allowed_text = _allowed_text(details)
        if details["type"] == "missing":
            problems.append(ConfigProblem(key, f"missing — {allowed_text}"))
            continue
        sensitive = spot.sensitive if spot else False
        shown = show_value(details["input"], sensitive=sensitive)
        problems.append(ConfigProblem(key, f"{shown} — {allowed_text}"))
    return problems
