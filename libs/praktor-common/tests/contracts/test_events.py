"""Event envelopes on events.* (spec §4.6): type, UTC timestamp, data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from praktor_common.contracts import events
from praktor_common.ids import new_id

SWARM = new_id()

SAMPLES: list[dict[str, Any]] = [
    {
        "type": "message",
        "agent_id": "coder",
        "data": {"id": 12, "role": "assistant", "text": "Done", "time": "09:15"},
    },
    {"type": "agent_started", "agent_id": "coder"},
    {"type": "agent_stopped", "agent_id": "coder", "reason": "idle_timeout"},
    {"type": "task_executed", "data": {"id": new_id(), "name": "Standup", "status": "success"}},
    {"type": "swarm_started", "swarm_id": SWARM, "data": {"name": "Telegram Swarm", "agents": 2}},
    {
        "type": "swarm_agent_started",
        "swarm_id": SWARM,
        "data": {"role": "writer", "agent_id": "swarm-0190abcd-writer"},
    },
    {
        "type": "swarm_agent_completed",
        "swarm_id": SWARM,
        "data": {"role": "writer", "status": "completed", "output": "summary..."},
    },
    {"type": "swarm_tier_completed", "swarm_id": SWARM, "data": {"tier": 0, "total": 2}},
    {"type": "swarm_completed", "swarm_id": SWARM, "data": {"results_count": 2}},
    {
        "type": "swarm_failed",
        "swarm_id": SWARM,
        "data": {"error": "directed graph contains a cycle"},
    },
    {"type": "events.secret.created", "data": {"id": "github-token", "name": "github-token"}},
    {"type": "events.secret.deleted", "data": {"id": "github-token", "name": "github-token"}},
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s["type"])
def test_each_event_round_trips_through_the_event_union(sample: dict[str, Any]) -> None:
    event = events.EVENT.validate_json(json.dumps(sample | {"timestamp": "2026-02-17T10:20:00Z"}))
    assert event.type == sample["type"]
    body = json.loads(event.model_dump_json(exclude_defaults=False))
    assert body["timestamp"] == "2026-02-17T10:20:00Z"
    assert events.EVENT.validate_json(event.model_dump_json()) == event


def test_a_timestamp_is_filled_in_and_is_utc() -> None:
    event = events.AgentStartedEvent(agent_id="coder")
    assert event.timestamp.utcoffset() is not None
    assert json.loads(event.model_dump_json())["timestamp"].endswith("Z")


def test_secret_events_use_the_full_subject_as_type() -> None:
    event = events.SecretUpdatedEvent(data=events.SecretEventData(id="gh", name="gh"))
    assert json.loads(event.model_dump_json())["type"] == "events.secret.updated"


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "agent_started", "agent_id": "coder", "timestamp": "2026-02-17T10:20:00"},
        {"type": "agent_exploded", "agent_id": "coder"},
        {"type": "agent_stopped", "agent_id": "coder", "reason": "bored"},
        {"type": "message", "agent_id": "coder", "data": {"id": 1, "role": "bot", "text": ""}},
        {
            "type": "message",
            "agent_id": "coder",
            "data": {"id": 1, "role": "user", "text": "", "time": "9:15pm"},
        },
        {"type": "swarm_started", "data": {"name": "x", "agents": 1}},
        {"type": "task_executed", "data": {"id": new_id(), "name": "x", "status": "maybe"}},
    ],
)
def test_malformed_events_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        events.EVENT.validate_python(bad)
