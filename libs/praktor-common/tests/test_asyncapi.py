"""The committed AsyncAPI document is current and well formed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from praktor_common import asyncapi
from praktor_common.contracts.catalog import CATALOG

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "docs" / "asyncapi.yaml"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return asyncapi.build_asyncapi()


@pytest.fixture(scope="module")
def rendered() -> str:
    return asyncapi.render_asyncapi()


def test_the_committed_document_is_current(rendered: str) -> None:
    assert COMMITTED.exists(), f"docs/asyncapi.yaml is missing; run: {asyncapi.REGENERATE}"
    assert COMMITTED.read_text(encoding="utf-8") == rendered, (
        f"docs/asyncapi.yaml is stale; regenerate it with: {asyncapi.REGENERATE}"
    )


def test_building_twice_gives_the_same_text(rendered: str) -> None:
    assert asyncapi.render_asyncapi() == rendered


def test_the_yaml_parses_back_to_the_document(doc: dict[str, Any], rendered: str) -> None:
    assert yaml.safe_load(rendered) == doc


def test_it_is_asyncapi_3_with_json_content(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["defaultContentType"] == "application/json"
    assert doc["info"]["title"]
    assert doc["info"]["version"]


def test_every_catalog_entry_is_a_channel_with_send_and_receive(doc: dict[str, Any]) -> None:
    for entry in CATALOG:
        channel = doc["channels"][entry.key]
        assert channel["address"] == entry.address
        assert channel["x-praktor-captured"] is entry.captured
        assert set(channel.get("parameters", {})) == {p.name for p in entry.parameters}
        assert set(channel["messages"]) == {m.__name__ for m in entry.messages()}
        name = entry.key[0].upper() + entry.key[1:]
        assert doc["operations"][f"send{name}"]["action"] == "send"
        assert doc["operations"][f"receive{name}"]["action"] == "receive"


def test_request_reply_operations_declare_their_reply(doc: dict[str, Any]) -> None:
    for entry in CATALOG:
        name = entry.key[0].upper() + entry.key[1:]
        operation = doc["operations"][f"send{name}"]
        if entry.mode == "request":
            reply_channel = doc["channels"][f"{entry.key}Reply"]
            assert reply_channel["address"] is None
            assert set(reply_channel["messages"]) == {m.__name__ for m in entry.reply_messages()}
            assert operation["reply"]["channel"] == {"$ref": f"#/channels/{entry.key}Reply"}
        else:
            assert "reply" not in operation


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [r for k, v in node.items() for r in ([v] if k == "$ref" else _refs(v))]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs = _refs(doc)
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        _resolve(doc, ref)


def test_messages_carry_json_schemas_that_close_objects(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name, message in doc["components"]["messages"].items():
        assert message["payload"] == {"$ref": f"#/components/schemas/{name}"}
        assert schemas[name]["type"] == "object"
        assert schemas[name]["additionalProperties"] is False


def test_schemas_use_plain_json_schema_keywords(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc["components"]["schemas"])
    assert "$defs" not in text
    assert not re.search(r"^\s*discriminator:", text, re.MULTILINE)


def test_check_mode_reports_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "asyncapi.yaml"
    assert asyncapi.main([str(target), "--check"]) == 1
    assert asyncapi.REGENERATE in capsys.readouterr().err
    assert asyncapi.main([str(target)]) == 0
    assert asyncapi.main([str(target), "--check"]) == 0
    target.write_text(target.read_text() + "# edited\n")
    assert asyncapi.main([str(target), "--check"]) == 1
