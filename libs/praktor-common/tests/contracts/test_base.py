"""Properties every contract has: frozen, closed, strict, UTC-only datetimes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from praktor_common.contracts.base import Contract, UtcDatetime
from praktor_common.contracts.catalog import CATALOG, models_of


def _all_models() -> list[type[BaseModel]]:
    """Every model reachable from the catalog, nested ones included."""
    found: dict[str, type[BaseModel]] = {}
    todo = [m for e in CATALOG for m in (*e.messages(), *e.reply_messages())]
    while todo:
        model = todo.pop()
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        for field in model.model_fields.values():
            todo.extend(_nested_models(field.annotation))
    return sorted(found.values(), key=lambda m: m.__name__)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _nested_models(arg)]


MODELS = _all_models()


def _datetime_fields(model: type[BaseModel]) -> list[str]:
    props = model.model_json_schema()["properties"]
    return [name for name, schema in props.items() if '"date-time"' in json.dumps(schema)]


DATETIME_FIELDS = [
    (model, name)
    for model in MODELS
    for name in _datetime_fields(model)
    if name in model.model_fields
]


def test_the_catalog_reaches_a_good_number_of_models() -> None:
    assert len(MODELS) > 100


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_contract_is_frozen_closed_and_strict(model: type[BaseModel]) -> None:
    assert issubclass(model, Contract)
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("strict") is True


@pytest.mark.parametrize(
    ("model", "field"), DATETIME_FIELDS, ids=lambda x: getattr(x, "__name__", str(x))
)
def test_every_datetime_field_refuses_naive_and_normalises_to_utc(
    model: type[BaseModel], field: str
) -> None:
    info = model.model_fields[field]
    annotation: Any = (
        Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    )
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    with pytest.raises(ValidationError, match="timezone"):
        adapter.validate_python("2026-02-17T10:20:00")
    with pytest.raises(ValidationError, match="timezone"):
        adapter.validate_python(datetime(2026, 2, 17, 10, 20))
    berlin = adapter.validate_python("2026-02-17T10:20:00+01:00")
    assert berlin == datetime(2026, 2, 17, 9, 20, tzinfo=UTC)
    assert berlin.utcoffset() == timedelta(0)


def test_there_are_datetime_fields_to_check() -> None:
    assert len(DATETIME_FIELDS) >= 15


class _Sample(Contract):
    count: int
    flag: bool
    at: UtcDatetime


def test_strict_means_no_coercion_from_strings_or_numbers() -> None:
    good = {"count": 1, "flag": True, "at": "2026-01-01T00:00:00Z"}
    assert _Sample.model_validate(good).count == 1
    for bad in ({"count": "1"}, {"count": 1.5}, {"flag": "true"}, {"flag": 1}):
        with pytest.raises(ValidationError):
            _Sample.model_validate(good | bad)


def test_unknown_fields_are_refused_and_instances_are_immutable() -> None:
    sample = _Sample(count=1, flag=False, at=datetime.now(UTC))
    with pytest.raises(ValidationError, match="extra"):
        _Sample.model_validate(sample.model_dump() | {"surprise": 1})
    with pytest.raises(ValidationError, match="frozen"):
        sample.count = 2  # type: ignore[misc]


def test_datetimes_serialise_as_utc_with_z() -> None:
    at = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert json.loads(_Sample(count=1, flag=True, at=at).model_dump_json())["at"] == (
        "2026-01-01T10:00:00Z"
    )


def test_models_of_flattens_annotated_unions() -> None:
    entry = next(e for e in CATALOG if e.key == "agentOutput")
    assert [m.__name__ for m in models_of(entry.payload)] == ["AgentText", "AgentResult"]
