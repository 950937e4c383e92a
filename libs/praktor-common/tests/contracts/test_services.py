"""svc.* commands: vault, scheduler, swarm and orchestrator requests and replies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from praktor_common.contracts import orchestrator, scheduler, swarm, vault
from praktor_common.contracts.service import Command, Deleted, ServiceError
from praktor_common.ids import new_id

ALL_COMMANDS: list[Command[Any, Any]] = [
    *vault.COMMANDS,
    *scheduler.COMMANDS,
    *swarm.COMMANDS,
    *orchestrator.COMMANDS,
]


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: c.subject)
def test_every_command_lives_on_svc_service_operation(command: Command[Any, Any]) -> None:
    assert command.subject == f"svc.{command.service}.{command.operation}"
    assert command.callers
    assert isinstance(command.parse_reply('{"error": "no", "code": "not_found"}'), ServiceError)


def test_command_subjects_are_unique() -> None:
    subjects = [c.subject for c in ALL_COMMANDS]
    assert len(subjects) == len(set(subjects))


def test_parse_reply_reads_the_commands_reply_or_an_error() -> None:
    assert vault.SECRET_DELETE.parse_reply('{"deleted": true}') == Deleted(deleted=True)
    assert vault.SECRET_DELETE.parse_reply('{"error": "boom"}') == ServiceError(error="boom")
    with pytest.raises(ValidationError):
        vault.SECRET_DELETE.parse_reply('{"deleted": "yes"}')
    with pytest.raises(ValidationError):
        vault.SECRET_DELETE.parse_reply('{"error": "x", "code": "teapot"}')


class TestVault:
    def test_secret_values_are_hidden_in_repr_but_sent_in_json(self) -> None:
        request = vault.SecretSetRequest(name="github-token", value=SecretStr("ghp_secret123"))
        assert "ghp_secret123" not in repr(request)
        assert json.loads(request.model_dump_json())["value"] == "ghp_secret123"
        again = vault.SecretSetRequest.model_validate_json(request.model_dump_json())
        assert again.value is not None
        assert again.value.get_secret_value() == "ghp_secret123"

    def test_resolved_values_are_sent_in_json(self) -> None:
        reply = vault.SecretResolveReply(
            secrets=[vault.ResolvedSecret(name="db", kind="string", value=SecretStr("pw-123456"))],
            denied=["other"],
        )
        body = json.loads(reply.model_dump_json())
        assert body["secrets"][0]["value"] == "pw-123456"
        assert "pw-123456" not in repr(reply)

    def test_resolve_must_ask_for_something(self) -> None:
        with pytest.raises(ValidationError, match="all_accessible"):
            vault.SecretResolveRequest(agent_id="coder")
        assert vault.SecretResolveRequest(agent_id="coder", all_accessible=True)

    @pytest.mark.parametrize(
        "bad",
        [
            {"name": ""},
            {"name": "has space"},
            {"kind": "binary"},
            {"agent_ids": ["Bad"]},
            {"value": 12345},
            {"global": True},
        ],
    )
    def test_malformed_set_requests_are_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            vault.SecretSetRequest.model_validate({"name": "gh", "value": "v"} | bad)

    def test_rotate_needs_a_real_new_passphrase(self) -> None:
        with pytest.raises(ValidationError):
            vault.SecretRotateRequest.model_validate(
                {"current_passphrase": "long enough", "new_passphrase": "short"}
            )

    def test_rotate_away_from_a_short_upstream_passphrase(self) -> None:
        request = vault.SecretRotateRequest.model_validate(
            {"current_passphrase": "short", "new_passphrase": "long enough"}
        )
        assert request.current_passphrase.get_secret_value() == "short"
        with pytest.raises(ValidationError):
            vault.SecretRotateRequest.model_validate(
                {"current_passphrase": "", "new_passphrase": "long enough"}
            )

    def test_secret_info_never_has_a_value(self) -> None:
        assert "value" not in vault.SecretInfo.model_fields


class TestScheduler:
    @pytest.mark.parametrize(
        "schedule",
        [
            {"kind": "cron", "cron_expr": "0 9 * * MON-FRI", "interval_ms": 0, "at_ms": 0},
            {"kind": "interval", "cron_expr": "", "interval_ms": 60000, "at_ms": 0},
            {"kind": "once", "cron_expr": "", "interval_ms": 0, "at_ms": 1771323600000},
        ],
    )
    def test_the_stored_schedule_form_round_trips_with_all_four_keys(
        self, schedule: dict[str, Any]
    ) -> None:
        parsed = scheduler.Schedule.model_validate_json(json.dumps(schedule))
        assert json.loads(parsed.model_dump_json()) == schedule

    @pytest.mark.parametrize(
        "bad",
        [
            {"kind": "cron"},
            {"kind": "interval", "interval_ms": 0},
            {"kind": "once", "at_ms": 0},
            {"kind": "weekly"},
            {"kind": "interval", "interval_ms": -5},
        ],
    )
    def test_a_schedule_without_its_value_is_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            scheduler.Schedule.model_validate(bad)

    def test_a_task_reads_like_the_web_api_shape(self) -> None:
        task = scheduler.TaskInfo.model_validate(
            {
                "id": new_id(),
                "agent_id": "coder",
                "name": "Standup",
                "schedule": {"kind": "cron", "cron_expr": "0 9 * * MON-FRI"},
                "schedule_display": "0 9 * * MON-FRI",
                "prompt": "Reply with: standup time",
                "status": "active",
                "timezone": "Europe/Berlin",
                "next_run_at": "2026-02-18T08:00:00Z",
                "created_at": "2026-02-17T10:00:00Z",
            }
        )
        assert scheduler.TaskInfo.model_validate_json(task.model_dump_json()) == task

    def test_create_takes_the_raw_schedule_text(self) -> None:
        request = scheduler.TaskCreateRequest(
            agent_id="coder", name="Ping", schedule="+5m", prompt="Reply with: ping"
        )
        assert request.enabled
        with pytest.raises(ValidationError, match="time zone"):
            scheduler.TaskCreateRequest(
                agent_id="coder", name="x", schedule="+5m", prompt="p", timezone="Mars/Olympus"
            )

    def test_an_agents_own_request_names_the_owner(self) -> None:
        ref = scheduler.TaskRef(id=new_id(), owner="coder")
        assert ref.owner == "coder"
        with pytest.raises(ValidationError):
            scheduler.TaskRef(id="task-1")
        with pytest.raises(ValidationError):
            scheduler.TaskUpdateRequest.model_validate({"id": new_id(), "status": "deleted"})


class TestSwarm:
    def _spec(self, **extra: Any) -> dict[str, Any]:
        return {
            "name": "Telegram Swarm",
            "task": "summarize X",
            "agents": [
                {"agent_id": "researcher", "role": "researcher", "workspace": "researcher"},
                {"agent_id": "writer", "role": "writer", "workspace": "writer"},
            ],
            "synapses": [{"from": "researcher", "to": "writer", "bidirectional": False}],
            "lead_agent": "writer",
        } | extra

    def test_a_pipeline_round_trips_with_from_and_to(self, origin_json: dict[str, Any]) -> None:
        request = swarm.SwarmLaunchRequest.model_validate(self._spec(origin=origin_json))
        body = json.loads(request.model_dump_json())
        assert body["synapses"] == [{"from": "researcher", "to": "writer", "bidirectional": False}]
        assert swarm.SwarmLaunchRequest.model_validate_json(request.model_dump_json()) == request

    def test_launch_needs_an_origin(self) -> None:
        with pytest.raises(ValidationError, match="origin"):
            swarm.SwarmLaunchRequest.model_validate(self._spec())

    @pytest.mark.parametrize(
        ("bad", "message"),
        [
            ({"lead_agent": "editor"}, "not a member"),
            ({"synapses": [{"from": "researcher", "to": "editor"}]}, "unknown role"),
            ({"agents": [{"role": "a"}, {"role": "a"}]}, "unique"),
            ({"agents": []}, "at least 1"),
            ({"task": ""}, "at least 1"),
            ({"agents": [{"role": "Writer"}], "synapses": [], "lead_agent": None}, "pattern"),
        ],
    )
    def test_a_graph_that_refers_to_missing_roles_is_refused(
        self, bad: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ValidationError, match=message):
            swarm.SwarmSpec.model_validate(self._spec(**bad))

    def test_member_agent_ids_fit_the_agent_id_rule(self) -> None:
        swarm_id = new_id()
        agent_id = swarm.swarm_agent_id(swarm_id, "a" * 24)
        assert agent_id == f"swarm-{swarm_id[:8]}-{'a' * 24}"
        assert len(agent_id) <= 40

    def test_chat_messages_are_from_and_content(self) -> None:
        message = swarm.SwarmChatMessage.model_validate(
            {"from": "swarm-0190abcd-a", "content": "hi"}
        )
        assert json.loads(message.model_dump_json()).keys() == {"from", "content", "sent_at"}


class TestOrchestrator:
    def test_status_lists_agents_with_their_state(self) -> None:
        reply = orchestrator.AgentStatusList.model_validate(
            {
                "agents": [
                    {"agent_id": "coder", "state": "busy", "active_jobs": 2, "model": "sonnet"},
                    {"agent_id": "notes", "state": "stopped", "model": "haiku"},
                ]
            }
        )
        assert [a.state for a in reply.agents] == ["busy", "stopped"]

    def test_a_swarm_member_start_says_whose_settings_it_borrows(self) -> None:
        request = orchestrator.AgentStartRequest.model_validate(
            {
                "agent_id": "swarm-0190abcd-writer",
                "swarm": {"swarm_id": new_id(), "role": "writer", "template_agent": "writer"},
            }
        )
        assert request.swarm is not None
        assert request.swarm.template_agent == "writer"

    @pytest.mark.parametrize(
        "bad",
        [
            {"agent_id": "coder", "action": "gc"},
            {"agent_id": "Coder", "action": "list"},
            {"agent_id": "coder", "action": "add", "packages": "ripgrep"},
        ],
    )
    def test_malformed_nix_requests_are_refused(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            orchestrator.NixRequest.model_validate(bad)
