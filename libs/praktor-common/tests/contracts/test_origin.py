"""Origin: where a message came from; Correlation: the ids of one turn."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from praktor_common.contracts.origin import Correlation, Origin
from praktor_common.ids import new_id


def test_origin_round_trips(origin_json: dict[str, object]) -> None:
    origin = Origin.model_validate(origin_json)
    assert origin.model_dump() == origin_json
    assert Origin.model_validate_json(origin.model_dump_json()) == origin


def test_origin_needs_only_channel_and_chat() -> None:
    origin = Origin(channel="scheduler", chat_id=new_id())
    assert origin.user_id is None
    assert origin.message_id is None


@pytest.mark.parametrize(
    "bad",
    [
        {"channel": "email", "chat_id": "1"},
        {"channel": "telegram", "chat_id": ""},
        {"channel": "telegram", "chat_id": "has space"},
        {"channel": "telegram", "chat_id": 4242},
        {"channel": "telegram"},
    ],
)
def test_origin_refuses_unknown_channels_and_bad_chat_ids(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Origin.model_validate(bad)


def test_correlation_needs_a_uuid_msg_id() -> None:
    assert Correlation(msg_id=new_id()).task_id is None
    with pytest.raises(ValidationError):
        Correlation.model_validate({})
    with pytest.raises(ValidationError):
        Correlation(msg_id="m1")
    with pytest.raises(ValidationError):
        Correlation(msg_id=new_id().upper())
