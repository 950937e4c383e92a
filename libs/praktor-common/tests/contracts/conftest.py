"""Small valid values shared by the contract tests."""

from __future__ import annotations

import pytest

from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id


@pytest.fixture
def origin() -> Origin:
    return Origin(channel="telegram", chat_id="4242", user_id="7", message_id="99")


@pytest.fixture
def origin_json() -> dict[str, object]:
    return {"channel": "telegram", "chat_id": "4242", "user_id": "7", "message_id": "99"}


@pytest.fixture
def msg_id() -> str:
    return new_id()
