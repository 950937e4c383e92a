"""Scheduled tasks: the schedule form (spec §13.1) and ``svc.scheduler.*`` commands (§15.5)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from praktor_common.contracts.base import (
    AgentId,
    Contract,
    Name,
    Text,
    TimeZoneName,
    UtcDatetime,
    Uuid,
)
from praktor_common.contracts.origin import Origin
from praktor_common.contracts.service import Command, Deleted

SERVICE: Final = "scheduler"

ScheduleKind = Literal["cron", "interval", "once"]
TaskStatus = Literal["active", "paused", "completed"]
ContextMode = Literal["isolated", "group"]
RawSchedule = Annotated[str, StringConstraints(min_length=1, max_length=500)]
"""What a person or agent wrote: ``+5m``, a cron expression, a tag, or schedule JSON."""


class Schedule(Contract):
    """A normalised schedule; all four keys are always present, unused ones zero/empty."""

    kind: ScheduleKind
    cron_expr: str = ""
    interval_ms: int = Field(default=0, ge=0)
    at_ms: int = Field(default=0, ge=0)
    """Epoch milliseconds (UTC) of a one-off run."""

    @model_validator(mode="after")
    def _kind_has_value(self) -> Self:
        if self.kind == "cron" and not self.cron_expr.strip():
            raise ValueError("a cron schedule needs cron_expr")
        if self.kind == "interval" and self.interval_ms <= 0:
            raise ValueError("an interval schedule needs interval_ms > 0")
        if self.kind == "once" and self.at_ms <= 0:
            raise ValueError("a one-off schedule needs at_ms > 0")
        return self


class TaskInfo(Contract):
    """A scheduled task as the scheduler reports it."""

    id: Uuid
    agent_id: AgentId
    name: Name
    schedule: Schedule
    schedule_display: str
    """The schedule for people (spec §13.1 ``FormatSchedule``), in the task's time zone."""
    prompt: Text
    context_mode: ContextMode = "isolated"
    status: TaskStatus
    timezone: TimeZoneName
    """IANA zone cron schedules are evaluated in."""
    deliver_to: Origin | None = None
    """Where the task's answers go (``None``: the configured main chat)."""
    next_run_at: UtcDatetime | None = None
    last_run_at: UtcDatetime | None = None
    last_status: Literal["success", "error"] | None = None
    last_error: str | None = None
    created_at: UtcDatetime


class TaskCreateRequest(Contract):
    """Create a task; ``schedule`` is normalised by the scheduler (spec §13.1)."""

    agent_id: AgentId
    name: Name
    schedule: RawSchedule
    prompt: Text
    context_mode: ContextMode = "isolated"
    enabled: bool = True
    """False creates it ``paused`` (no next run)."""
    timezone: TimeZoneName | None = None
    """IANA zone; ``None`` uses the configured ``timezone``."""
    deliver_to: Origin | None = None


class TaskListRequest(Contract):
    """List tasks in creation order, optionally of one agent or status."""

    agent_id: AgentId | None = None
    status: TaskStatus | None = None


class TaskRef(Contract):
    """Names one task; ``owner`` (set for an agent's own IPC) limits it to that agent's tasks."""

    id: Uuid
    owner: AgentId | None = None


class TaskUpdateRequest(TaskRef):
    """Change a task; absent fields stay. ``enabled`` wins over ``status`` (spec §15.5)."""

    name: Name | None = None
    schedule: RawSchedule | None = None
    prompt: Text | None = None
    agent_id: AgentId | None = None
    context_mode: ContextMode | None = None
    enabled: bool | None = None
    status: TaskStatus | None = None
    timezone: TimeZoneName | None = None
    deliver_to: Origin | None = None


class TaskDeleteCompletedRequest(Contract):
    """Delete every completed task."""


class TaskReply(Contract):
    task: TaskInfo


class TaskList(Contract):
    tasks: list[TaskInfo]


class TaskDeletedCount(Contract):
    count: int = Field(ge=0)


class TaskRunStarted(Contract):
    """A run was started now; its answer arrives like any task run's."""

    task_id: Uuid
    task_run_id: Uuid


_CALLERS = ("orchestrator", "web", "cli")

TASK_CREATE: Final = Command(
    SERVICE, "create", TaskCreateRequest, TaskReply, "Create a scheduled task.", _CALLERS
)
TASK_LIST: Final = Command(SERVICE, "list", TaskListRequest, TaskList, "List tasks.", _CALLERS)
TASK_GET: Final = Command(SERVICE, "get", TaskRef, TaskReply, "Get one task.", ("web", "cli"))
TASK_UPDATE: Final = Command(
    SERVICE, "update", TaskUpdateRequest, TaskReply, "Change a task.", _CALLERS
)
TASK_DELETE: Final = Command(SERVICE, "delete", TaskRef, Deleted, "Delete a task.", _CALLERS)
TASK_DELETE_COMPLETED: Final = Command(
    SERVICE,
    "delete-completed",
    TaskDeleteCompletedRequest,
    TaskDeletedCount,
    "Delete every completed task.",
    ("web", "cli"),
)
TASK_PAUSE: Final = Command(
    SERVICE, "pause", TaskRef, TaskReply, "Pause a task (no next run).", _CALLERS
)
TASK_RESUME: Final = Command(
    SERVICE, "resume", TaskRef, TaskReply, "Resume a task and compute its next run.", _CALLERS
)
TASK_RUN_NOW: Final = Command(
    SERVICE, "run-now", TaskRef, TaskRunStarted, "Run a task now, outside its schedule.", _CALLERS
)

COMMANDS: Final[tuple[Command[Any, Any], ...]] = (
    TASK_CREATE,
    TASK_LIST,
    TASK_GET,
    TASK_UPDATE,
    TASK_DELETE,
    TASK_DELETE_COMPLETED,
    TASK_PAUSE,
    TASK_RESUME,
    TASK_RUN_NOW,
)
