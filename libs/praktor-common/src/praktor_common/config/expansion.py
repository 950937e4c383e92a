"""``${VAR}`` expansion inside YAML values (never keys, never the raw text).

The YAML is parsed first; then every string value is expanded: ``${NAME}`` is
the variable's value, ``$$`` is a literal ``$``, and any other ``$`` stays as
it is, so a password like ``pa$word`` survives. An unset variable is an error
that names the config key (upstream expanded the raw text and turned unset
variables into empty strings, mangling ``$`` in values: spec §20 item 13).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from praktor_common.config.errors import ConfigProblem, format_key

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_string(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """``text`` with references replaced, and a message for each bad reference."""
    out: list[str] = []
    errors: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        following = text[i + 1] if i + 1 < len(text) else ""
        if char != "$" or following not in ("$", "{"):
            out.append(char)
            i += 1
            continue
        if following == "$":
            out.append("$")
            i += 2
            continue
        end = text.find("}", i + 2)
        name = text[i + 2 : end] if end >= 0 else ""
        if end < 0 or not _NAME.fullmatch(name):
            shown = text[i : end + 1] if end >= 0 else text[i:]
            errors.append(
                f"{shown!r} is not a variable reference; write ${{NAME}}, or $$ for a literal $"
            )
            out.append(shown)
            i = end + 1 if end >= 0 else len(text)
            continue
        if name in environ:
            out.append(environ[name])
        else:
            errors.append(
                f"environment variable {name} is not set; set it, or write $$ for a literal $"
            )
        i = end + 1
    return "".join(out), errors


def expand_tree(
    tree: Any, environ: Mapping[str, str], loc: tuple[int | str, ...] = ()
) -> tuple[Any, list[ConfigProblem]]:
    """A copy of ``tree`` with every string value expanded, and the problems found."""
    problems: list[ConfigProblem] = []
    if isinstance(tree, str):
        value, errors = expand_string(tree, environ)
        problems.extend(ConfigProblem(format_key(loc), error) for error in errors)
        return value, problems
    if isinstance(tree, dict):
        expanded: dict[Any, Any] = {}
        for key, value in tree.items():
            expanded[key], found = expand_tree(value, environ, (*loc, str(key)))
            problems.extend(found)
        return expanded, problems
    if isinstance(tree, list):
        items: list[Any] = []
        for index, value in enumerate(tree):
            item, found = expand_tree(value, environ, (*loc, index))
            items.append(item)
            problems.extend(found)
        return items, problems
    return tree, problems
