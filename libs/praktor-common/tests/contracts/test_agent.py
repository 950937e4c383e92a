"""Agent input, output, readiness, control and routing, with the original's JSON shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from praktor_common.contracts.agent import (
    AGENT_OUTPUT,
    CONTROL_REPLY,
    AgentInput,
    AgentReady,
    AgentResult,
    AgentText,
    ControlError,
    ControlOk,
    ControlRequest,
    PingReply,
    RouteReply,
    RouteRequest,
)
from praktor_common.contracts.origin import Origin
from praktor_common.ids import new_id


def _input(origin_json: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "msg_id": new_id(),
        "agent_id": "coder",
        "text": "fix the bug",
        "origin": origin_json,
        "sender": "user:7",
    } | extra


class TestAgentInput:
    def test_a_conversational_turn_round_trips(self, origin_json: dict[str, Any]) -> None:
        turn = AgentInput.model_validate(_input(origin_json))
        assert turn.kind == "conversational"
        assert turn.attempt == 1
        assert turn.created_at.tzinfo is not None
        assert AgentInput.model_validate_json(turn.model_dump_json()) == turn

    def test_keeps_the_original_field_names(self, origin_json: dict[str, Any]) -> None:
        body = json.loads(AgentInput.model_validate(_input(origin_json)).model_dump_json())
        assert {"msg_id", "text", "sender", "task_id", "swarm_id"} <= body.keys()

    def test_a_task_turn_needs_task_and_run_ids(self, origin_json: dict[str, Any]) -> None:
        with pytest.raises(ValidationError, match="task_id and task_run_id"):
            AgentInput.model_validate(_input(origin_json, kind="task", sender="scheduler"))
        turn = AgentInput.model_validate(
            _input(
                origin_json,
                kind="task",
                sender="scheduler",
                task_id=new_id(),
                task_run_id=new_id(),
            )
        )
        assert turn.task_run_id is not None

    def test_a_swarm_turn_needs_swarm_id_and_role(self, origin_json: dict[str, Any]) -> None:
        with pytest.raises(ValidationError, match="swarm_id and swarm_role"):
            AgentInput.model_validate(_input(origin_json, kind="swarm", swarm_id=new_id()))
        turn = AgentInput.model_validate(
            _input(
                origin_json, kind="swarm", sender="swarm", swarm_id=new_id(), swarm_role="writer"
            )
        )
        assert turn.swarm_role == "writer"

    @pytest.mark.parametrize(
        "bad",
        [
            {"agent_id": "Coder"},
            {"agent_id": "co.der"},
            {"agent_id": "a" * 41},
            {"agent_id": "-coder"},
            {"text": ""},
            {"sender": "alice"},
            {"kind": "retry-notice"},
            {"attempt": 0},
            {"attempt": "1"},
            {"created_at": "2026-02-17T10:20:00"},
            {"msg_id": "m1"},
            {"meta": {"chat_id": "1"}},
        ],
    )
    def test_malformed_input_is_refused(
        self, origin_json: dict[str, Any], bad: dict[str, Any]
    ) -> None:
        with pytest.raises(ValidationError):
            AgentInput.model_validate(_input(origin_json, **bad))

    def test_origin_is_required(self, origin_json: dict[str, Any]) -> None:
        body = _input(origin_json)
        del body["origin"]
        with pytest.raises(ValidationError, match="origin"):
            AgentInput.model_validate(body)


class TestAgentOutput:
    def test_output_is_told_apart_by_type(self, origin_json: dict[str, Any]) -> None:
        msg_id = new_id()
        text = AGENT_OUTPUT.validate_json(
            json.dumps(
                {
                    "type": "text",
                    "msg_id": msg_id,
                    "seq": 0,
                    "content": "Hel",
                    "origin": origin_json,
                }
            )
        )
        result = AGENT_OUTPUT.validate_python(
            {
                "type": "result",
                "msg_id": msg_id,
                "content": "Hello",
                "terminal_reason": "completed",
                "origin": origin_json,
            }
        )
        assert isinstance(text, AgentText)
        assert isinstance(result, AgentResult)
        assert not result.abnormal

    def test_an_unknown_type_is_refused(self, origin_json: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            AGENT_OUTPUT.validate_python(
                {"type": "thinking", "msg_id": new_id(), "content": "x", "origin": origin_json}
            )

    def test_the_json_keeps_the_original_keys(self, origin: Origin) -> None:
        result = AgentResult(
            msg_id=new_id(), content="Done", terminal_reason="max_turns", origin=origin
        )
        body = json.loads(result.model_dump_json())
        assert body["type"] == "result"
        assert {"content", "msg_id", "terminal_reason"} <= body.keys()
        assert result.abnormal

    def test_text_is_a_cumulative_snapshot_ordered_by_seq(self, origin: Origin) -> None:
        msg_id = new_id()
        first = AgentText(msg_id=msg_id, seq=0, content="Hel", origin=origin)
        second = AgentText(msg_id=msg_id, seq=1, content="Hello", origin=origin)
        latest = max([second, first], key=lambda t: t.seq)
        assert latest.content == "Hello"
        with pytest.raises(ValidationError):
            AgentText(msg_id=msg_id, seq=-1, content="", origin=origin)

    @pytest.mark.parametrize("kind", ["text", "result"])
    def test_outputs_need_an_origin_and_a_msg_id(self, kind: str, origin_json: Any) -> None:
        body = {"type": kind, "msg_id": new_id(), "seq": 0, "content": "x", "origin": origin_json}
        if kind == "result":
            del body["seq"]
        AGENT_OUTPUT.validate_python(body)
        for missing in ("origin", "msg_id"):
            with pytest.raises(ValidationError, match=missing):
                AGENT_OUTPUT.validate_python({k: v for k, v in body.items() if k != missing})

    def test_a_result_may_carry_usage_and_session(self, origin: Origin) -> None:
        result = AgentResult.model_validate(
            {
                "msg_id": new_id(),
                "content": "ok",
                "origin": origin.model_dump(),
                "usage": {"input_tokens": 10, "output_tokens": 3},
                "session_id": "sess-1",
            }
        )
        assert result.usage is not None
        assert result.usage.output_tokens == 3
        with pytest.raises(ValidationError):
            AgentResult.model_validate_json(
                json.dumps(result.model_dump(mode="json") | {"usage": {"input_tokens": -1}})
            )

    def test_a_terminal_reason_is_a_snake_case_word(self, origin: Origin) -> None:
        with pytest.raises(ValidationError):
            AgentResult(msg_id=new_id(), content="", terminal_reason="Max Turns!", origin=origin)


def test_ready_is_status_ready() -> None:
    body = json.loads(AgentReady().model_dump_json())
    assert body["status"] == "ready"
    with pytest.raises(ValidationError):
        AgentReady.model_validate({"status": "starting"})


class TestControl:
    @pytest.mark.parametrize("command", ["ping", "abort", "clear_session", "shutdown"])
    def test_requests_are_command_objects(self, command: str) -> None:
        request = ControlRequest.model_validate_json(json.dumps({"command": command}))
        assert json.loads(request.model_dump_json()) == {"command": command}

    def test_unknown_commands_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            ControlRequest.model_validate({"command": "reboot"})

    def test_replies_are_told_apart_by_shape(self) -> None:
        ping = {
            "status": "ok",
            "processing": False,
            "pending_messages": 0,
            "active_tasks": 1,
            "background_tasks": 0,
        }
        assert isinstance(CONTROL_REPLY.validate_json(json.dumps(ping)), PingReply)
        assert isinstance(CONTROL_REPLY.validate_json('{"status":"ok"}'), ControlOk)
        error = CONTROL_REPLY.validate_json('{"error":"unknown command: reboot"}')
        assert isinstance(error, ControlError)

    @pytest.mark.parametrize(
        ("processing", "pending", "tasks", "background", "busy"),
        [
            (False, 0, 0, 0, False),
            (True, 0, 0, 0, True),
            (False, 1, 0, 0, True),
            (False, 0, 1, 0, True),
            (False, 0, 0, 2, True),
            (True, 0, 0, 5, True),
        ],
    )
    def test_busy_follows_the_idle_reaper_rule(
        self, processing: bool, pending: int, tasks: int, background: int, busy: bool
    ) -> None:
        reply = PingReply(
            processing=processing,
            pending_messages=pending,
            active_tasks=tasks,
            background_tasks=background,
        )
        assert reply.busy is busy


def test_route_request_and_reply_keep_their_keys() -> None:
    assert json.loads(RouteRequest(text="which agent?").model_dump_json()) == {
        "text": "which agent?"
    }
    reply = RouteReply.model_validate_json('{"agent": " coder "}')
    assert reply.agent == " coder "
