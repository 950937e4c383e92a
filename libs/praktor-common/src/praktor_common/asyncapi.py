"""The AsyncAPI 3.0 document of the bus, generated from :mod:`praktor_common.contracts.catalog`.

``uv run python -m praktor_common.asyncapi docs/asyncapi.yaml`` writes it;
``--check`` exits 1 when the file is stale. Request/reply subjects get a reply
channel with a null address (the requester's inbox).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from praktor_common.contracts.catalog import CATALOG, CONTRACTS_VERSION, SubjectEntry

DEFAULT_PATH: Final = "docs/asyncapi.yaml"
REGENERATE: Final = f"uv run python -m praktor_common.asyncapi {DEFAULT_PATH}"
HEADER: Final = (
    f"# Generated from praktor_common.contracts; do not edit. Regenerate: {REGENERATE}\n"
)

_SCHEMAS = "#/components/schemas/"
_MESSAGES = "#/components/messages/"


def build_asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document as plain data, in a stable order."""
    models = _all_models()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for entry in CATALOG:
        channels[entry.key] = _channel(entry)
        if entry.mode == "request":
            channels[_reply_key(entry)] = _reply_channel(entry)
        for action, services in (("send", entry.publishers), ("receive", entry.subscribers)):
            operations[action + entry.key[0].upper() + entry.key[1:]] = _operation(
                entry, action, services
            )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Praktor bus",
            "version": CONTRACTS_VERSION,
            "description": (
                "Every subject on Praktor's NATS bus and its JSON payloads. Captured subjects "
                "(x-praktor-captured) are stored by JetStream streams; request/reply subjects "
                "never are."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "The NATS server of a local install (authenticated, JetStream).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _schemas(models),
            "messages": {model.__name__: _message(model) for model in models},
        },
    }


def render_asyncapi() -> str:
    """The document as YAML text, exactly as committed."""
    body = yaml.safe_dump(build_asyncapi(), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def _all_models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for entry in CATALOG:
        for model in (*entry.messages(), *entry.reply_messages()):
            other = seen.setdefault(model.__name__, model)
            if other is not model:
                raise ValueError(f"two contracts are named {model.__name__}")
    return sorted(seen.values(), key=lambda m: m.__name__)


def _schemas(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template=_SCHEMAS + "{model}"
    )
    defs: dict[str, Any] = top.get("$defs", {})
    return {name: _plain_json_schema(defs[name]) for name in sorted(defs)}


def _plain_json_schema(node: Any) -> Any:
    """Drop pydantic's OpenAPI-style ``discriminator`` (members still carry ``const`` types)."""
    if isinstance(node, dict):
        return {k: _plain_json_schema(v) for k, v in node.items() if k != "discriminator"}
    if isinstance(node, list):
        return [_plain_json_schema(v) for v in node]
    return node


def _summary(model: type[BaseModel]) -> str | None:
    doc = model.__dict__.get("__doc__")
    return doc.strip().split("\n\n")[0].replace("\n", " ") if doc else None


def _message(model: type[BaseModel]) -> dict[str, Any]:
    message: dict[str, Any] = {"name": model.__name__, "title": model.__name__}
    summary = _summary(model)
    if summary:
        message["summary"] = summary
    message["contentType"] = "application/json"
    message["payload"] = {"$ref": _SCHEMAS + model.__name__}
    return message


def _message_refs(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    return {model.__name__: {"$ref": _MESSAGES + model.__name__} for model in models}


def _reply_key(entry: SubjectEntry) -> str:
    return entry.key + "Reply"


def _channel(entry: SubjectEntry) -> dict[str, Any]:
    channel: dict[str, Any] = {"address": entry.address, "description": entry.description}
    if entry.parameters:
        channel["parameters"] = {
            p.name: {"description": p.description, **({"enum": list(p.enum)} if p.enum else {})}
            for p in entry.parameters
        }
    channel["messages"] = _message_refs(entry.messages())
    channel["x-praktor-mode"] = entry.mode
    channel["x-praktor-captured"] = entry.captured
    channel["x-praktor-wildcard"] = entry.wildcard
    return channel


def _reply_channel(entry: SubjectEntry) -> dict[str, Any]:
    return {
        "address": None,
        "description": f"Replies to {entry.address}, on the requester's own inbox.",
        "messages": _message_refs(entry.reply_messages()),
    }


def _operation(entry: SubjectEntry, action: str, services: Sequence[str]) -> dict[str, Any]:
    who = "Sent by" if action == "send" else "Received by"
    operation: dict[str, Any] = {
        "action": action,
        "channel": {"$ref": f"#/channels/{entry.key}"},
        "summary": entry.description,
        "description": f"{who}: {', '.join(services)}.",
        "messages": [
            {"$ref": f"#/channels/{entry.key}/messages/{m.__name__}"} for m in entry.messages()
        ],
        "x-praktor-services": list(services),
    }
    if entry.mode == "request":
        key = _reply_key(entry)
        operation["reply"] = {
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [
                {"$ref": f"#/channels/{key}/messages/{m.__name__}"} for m in entry.reply_messages()
            ],
        }
    return operation


def main(argv: Sequence[str] | None = None) -> int:
    """Write the document, or with ``--check`` tell whether the file is current."""
    parser = argparse.ArgumentParser(prog="python -m praktor_common.asyncapi")
    parser.add_argument("path", nargs="?", default=DEFAULT_PATH, type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    path: Path = args.path
    text = render_asyncapi()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            print(f"{path} is stale; regenerate it with: {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
