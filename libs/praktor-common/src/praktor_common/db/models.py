"""The Praktor schema: every table, as SQLAlchemy 2 typed declarative models.

Adapted from upstream's SQLite schema (spec §3) for PostgreSQL:

* every timestamp is ``timestamptz`` with a server default of ``now()``; on the
  Python side only timezone-aware values are accepted and values come back in
  UTC (:class:`UTCDateTime`);
* history is ordered by ``(created_at, id)``;
* full-text search uses stored generated ``tsvector`` columns (``'simple'``
  configuration) with GIN indexes; see :mod:`praktor_common.db.search`;
* agents removed from the config are marked (``removed_at``), never deleted,
  so their history keeps its foreign keys (spec §20 item 2);
* work several replicas might do at once is guarded by unique keys
  (``task_runs``) or row locks.

Each table has one owning service that writes it; others only read it. The
owner is named in each model's docstring.

The migrations in ``migrations/versions`` create exactly this schema; a test
compares the two.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Only the first 100 000 characters of a text are indexed: a tsvector is limited
# to 1 MiB, and a longer text must still be storable.
SEARCH_TEXT_CHARS = 100_000


def utcnow() -> dt.datetime:
    """Now, timezone-aware, in UTC: the only kind of "now" Praktor writes."""
    return dt.datetime.now(UTC)


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was about to be written to the database."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """``timestamptz`` that refuses naive datetimes and always reads back UTC.

    A naive value is ambiguous (it would be interpreted in the session time
    zone), so writing one is a bug and raises :class:`NaiveDatetimeError`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise NaiveDatetimeError(
                f"naive datetime {value.isoformat()} written to a timestamptz column; "
                "use an aware value such as praktor_common.db.models.utcnow()"
            )
        return value.astimezone(UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # pragma: no cover - asyncpg returns aware values
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        str: Text(),
        int: Integer(),
        bool: Boolean(),
        bytes: LargeBinary(),
        dt.datetime: UTCDateTime(),
        dt.date: Date(),
        dict[str, Any]: JSONB(),
        list[Any]: JSONB(),
    }


def _created_at() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), server_default=func.now(), nullable=False)


def _updated_at() -> Mapped[dt.datetime]:
    return mapped_column(
        UTCDateTime(), server_default=func.now(), onupdate=func.now(), nullable=False
    )


def _agent_fk(ondelete: str) -> ForeignKey:
    return ForeignKey("agents.id", ondelete=ondelete)


# --------------------------------------------------------------------------- agents


class Agent(Base):
    """An agent defined in the config. Owner: orchestrator.

    Synced from the YAML at start and on reload. An agent that disappears
    from the config gets ``removed_at`` set and keeps its rows (messages,
    tasks, memories); it comes back (``removed_at`` cleared) when re-added.
    ``session_id`` is the Claude session to resume after a container restart.
    ``extension_status`` is what the agent-runner reported (spec §9.5).
    The workspace must be unique among agents that are not removed.
    """

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    description: Mapped[str] = mapped_column(server_default="", default="")
    model: Mapped[str] = mapped_column(server_default="", default="")
    image: Mapped[str] = mapped_column(server_default="", default="")
    workspace: Mapped[str]
    claude_md: Mapped[str] = mapped_column(server_default="", default="")
    session_id: Mapped[str | None]
    removed_at: Mapped[dt.datetime | None]
    extension_status: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"), default=dict
    )
    created_at: Mapped[dt.datetime] = _created_at()
    updated_at: Mapped[dt.datetime] = _updated_at()

    __table_args__ = (
        Index(
            "uq_agents_workspace_live",
            "workspace",
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
        ),
    )


# --------------------------------------------------------------------------- messages


MESSAGE_ROLES = ("user", "assistant", "system")


class Message(Base):
    """One conversation message of an agent. Owner: orchestrator.

    ``msg_id`` is the idempotency key from the bus (``Nats-Msg-Id``): a
    redelivered message is stored once (see :func:`praktor_common.db.messages.insert_message`).
    ``sender`` keeps upstream's values (``user``, ``user:<telegram id>``,
    ``scheduler``, ``agentmail``, ``agent``); ``role`` says who speaks.
    ``metadata`` holds e.g. ``{"terminal_reason": …}``; ``origin`` is the
    contract's origin (channel, chat) the message came from or goes to.
    ``search`` is the generated ``tsvector`` of ``content`` (its first
    100 000 characters).
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    msg_id: Mapped[str] = mapped_column(unique=True)
    agent_id: Mapped[str] = mapped_column(_agent_fk("RESTRICT"))
    sender: Mapped[str]
    role: Mapped[str]
    content: Mapped[str]
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata")
    origin: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime] = _created_at()
    search: Mapped[str] = mapped_column(
        TSVECTOR(),
        Computed(
            f"to_tsvector('simple'::regconfig, left(content, {SEARCH_TEXT_CHARS}))",
            persisted=True,
        ),
        deferred=True,
    )

    __table_args__ = (
        CheckConstraint(f"role IN {MESSAGE_ROLES!r}", name="role"),
        Index("ix_messages_agent_id_created_at_id", "agent_id", "created_at", "id"),
        Index("ix_messages_created_at_id", "created_at", "id"),
        Index("ix_messages_search", "search", postgresql_using="gin"),
    )


# --------------------------------------------------------------------------- scheduler


TASK_STATUSES = ("active", "paused", "completed")
TASK_RUN_STATUSES = ("pending", "running", "success", "error")


class ScheduledTask(Base):
    """A scheduled prompt for an agent (spec §13). Owner: scheduler.

    ``schedule`` is the normalized schedule object (``kind``, ``cron_expr``,
    ``interval_ms``, ``at_ms``). ``next_run_at`` is NULL when the task is not
    scheduled. ``origin`` is where results go (e.g. the chat it was created
    from); NULL means the main chat.
    """

    __tablename__ = "scheduled_tasks"

    id: Mapped[str] = mapped_column(primary_key=True)
    agent_id: Mapped[str] = mapped_column(_agent_fk("RESTRICT"))
    name: Mapped[str]
    schedule: Mapped[dict[str, Any]]
    prompt: Mapped[str]
    context_mode: Mapped[str] = mapped_column(server_default="isolated", default="isolated")
    status: Mapped[str] = mapped_column(server_default="active", default="active")
    next_run_at: Mapped[dt.datetime | None]
    last_run_at: Mapped[dt.datetime | None]
    last_status: Mapped[str | None]
    last_error: Mapped[str | None]
    origin: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime] = _created_at()
    updated_at: Mapped[dt.datetime] = _updated_at()

    __table_args__ = (
        CheckConstraint(f"status IN {TASK_STATUSES!r}", name="status"),
        Index("ix_scheduled_tasks_status_next_run_at", "status", "next_run_at"),
        Index("ix_scheduled_tasks_agent_id", "agent_id"),
    )


class TaskRun(Base):
    """One run of a scheduled task. Owner: scheduler.

    ``(task_id, scheduled_for)`` is unique: the replica whose insert wins owns
    the run (see :func:`praktor_common.db.tasks.claim_task_run`), so two
    replicas never run the same occurrence. ``msg_id`` is the message that
    was sent to the agent for this run; ``outcome`` a short result text.
    """

    __tablename__ = "task_runs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("scheduled_tasks.id", ondelete="CASCADE"))
    scheduled_for: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime] = _created_at()
    claimed_by: Mapped[str | None]
    status: Mapped[str] = mapped_column(server_default="pending", default="pending")
    msg_id: Mapped[str | None]
    outcome: Mapped[str | None]
    error: Mapped[str | None]
    finished_at: Mapped[dt.datetime | None]

    __table_args__ = (
        UniqueConstraint("task_id", "scheduled_for"),
        CheckConstraint(f"status IN {TASK_RUN_STATUSES!r}", name="status"),
        Index("ix_task_runs_status", "status"),
    )


# --------------------------------------------------------------------------- swarms


SWARM_STATUSES = ("running", "completed", "failed")
SWARM_STEP_STATUSES = ("pending", "running", "completed", "error")


class SwarmRun(Base):
    """A swarm run (spec §14). Owner: swarm.

    ``lead_agent`` is the lead *role* (upstream stored it in ``agent_id``);
    there is no foreign key to ``agents`` because swarm members are roles that
    borrow an agent's config. ``agents``/``synapses``/``results`` are the JSON
    arrays of the request and results; ``origin`` is where the result goes.
    """

    __tablename__ = "swarm_runs"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(server_default="", default="")
    lead_agent: Mapped[str] = mapped_column(server_default="", default="")
    task: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="running", default="running")
    agents: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"), default=list)
    synapses: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"), default=list)
    results: Mapped[list[Any] | None]
    error: Mapped[str | None]
    origin: Mapped[dict[str, Any] | None]
    started_at: Mapped[dt.datetime] = _created_at()
    completed_at: Mapped[dt.datetime | None]

    __table_args__ = (
        CheckConstraint(f"status IN {SWARM_STATUSES!r}", name="status"),
        Index("ix_swarm_runs_started_at", "started_at"),
    )


class SwarmRunStep(Base):
    """One role of a swarm run, so an interrupted run can resume. Owner: swarm.

    ``tier`` is the role's tier in the plan; ``agent_id`` the container agent
    id (``swarm-<id8>-<role>``).
    """

    __tablename__ = "swarm_run_steps"

    run_id: Mapped[str] = mapped_column(ForeignKey("swarm_runs.id", ondelete="CASCADE"))
    role: Mapped[str]
    tier: Mapped[int]
    agent_id: Mapped[str | None]
    status: Mapped[str] = mapped_column(server_default="pending", default="pending")
    output: Mapped[str | None]
    error: Mapped[str | None]
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]

    __table_args__ = (
        PrimaryKeyConstraint("run_id", "role"),
        CheckConstraint(f"status IN {SWARM_STEP_STATUSES!r}", name="status"),
    )


# --------------------------------------------------------------------------- vault


SECRET_KINDS = ("string", "file")


class Secret(Base):
    """An encrypted secret (spec §10). Owner: vault.

    ``value`` is AES-256-GCM ciphertext with its 16-byte tag, ``nonce`` the
    12-byte nonce. ``global`` (``is_global`` in Python) makes it usable by
    every agent. ``id`` equals ``name`` in practice.
    """

    __tablename__ = "secrets"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    description: Mapped[str] = mapped_column(server_default="", default="")
    kind: Mapped[str]
    filename: Mapped[str | None]
    value: Mapped[bytes]
    nonce: Mapped[bytes]
    is_global: Mapped[bool] = mapped_column("global", server_default=text("false"), default=False)
    created_at: Mapped[dt.datetime] = _created_at()
    updated_at: Mapped[dt.datetime] = _updated_at()

    __table_args__ = (
        CheckConstraint(f"kind IN {SECRET_KINDS!r}", name="kind"),
        CheckConstraint("octet_length(nonce) = 12", name="nonce_length"),
    )


class AgentSecret(Base):
    """A secret assigned to an agent. Owner: vault."""

    __tablename__ = "agent_secrets"

    agent_id: Mapped[str] = mapped_column(_agent_fk("CASCADE"), primary_key=True)
    secret_id: Mapped[str] = mapped_column(
        ForeignKey("secrets.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (Index("ix_agent_secrets_secret_id", "secret_id"),)


class VaultMeta(Base):
    """Key/value state of the vault. Owner: vault.

    E.g. ``verifier`` (proves the passphrase is right before anything is
    decrypted), KDF parameters, and the state of a passphrase rotation.
    Values are JSON; bytes go base64-encoded.
    """

    __tablename__ = "vault_meta"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = _updated_at()


# --------------------------------------------------------------------------- extensions


class AgentMcpServer(Base):
    """An extension MCP server of an agent (spec §9). Owner: web.

    ``config`` is the server object of §9.1 (``type``, ``command``, …).
    """

    __tablename__ = "agent_mcp_servers"

    agent_id: Mapped[str] = mapped_column(_agent_fk("CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    config: Mapped[dict[str, Any]]


class AgentMarketplace(Base):
    """A plugin marketplace of an agent (spec §9). Owner: web."""

    __tablename__ = "agent_marketplaces"

    agent_id: Mapped[str] = mapped_column(_agent_fk("CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(server_default="", default="")
    sort_order: Mapped[int] = mapped_column(server_default=text("0"), default=0)


class AgentPlugin(Base):
    """A Claude Code plugin of an agent (spec §9). Owner: web.

    ``requires`` is a JSON array of nix package names.
    """

    __tablename__ = "agent_plugins"

    agent_id: Mapped[str] = mapped_column(_agent_fk("CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    disabled: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    requires: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"), default=list)
    sort_order: Mapped[int] = mapped_column(server_default=text("0"), default=0)


class AgentSkill(Base):
    """A skill of an agent (spec §9). Owner: web.

    ``files`` maps relative paths to base64 content.
    """

    __tablename__ = "agent_skills"

    agent_id: Mapped[str] = mapped_column(_agent_fk("CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    description: Mapped[str] = mapped_column(server_default="", default="")
    content: Mapped[str] = mapped_column(server_default="", default="")
    requires: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"), default=list)
    files: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"), default=dict)


# --------------------------------------------------------------------------- memory


class Memory(Base):
    """A long-term memory of an agent (spec §7.9). Owner: orchestrator.

    Agents reach it through IPC (they never reach the database). ``key`` is
    unique per agent. ``embedding`` is the L2-normalized vector (``real[]``),
    produced by ``embedding_model``; NULL until computed. ``search`` is the
    generated ``tsvector`` of key (weight A), tags (B) and content (C).
    """

    __tablename__ = "memories"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    agent_id: Mapped[str] = mapped_column(_agent_fk("RESTRICT"))
    key: Mapped[str]
    content: Mapped[str]
    tags: Mapped[str] = mapped_column(server_default="", default="")
    embedding: Mapped[list[float] | None] = mapped_column(ARRAY(REAL()))
    embedding_model: Mapped[str | None]
    access_count: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    last_accessed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created_at()
    updated_at: Mapped[dt.datetime] = _updated_at()
    search: Mapped[str] = mapped_column(
        TSVECTOR(),
        Computed(
            "setweight(to_tsvector('simple'::regconfig, key), 'A') || "
            "setweight(to_tsvector('simple'::regconfig, tags), 'B') || "
            f"setweight(to_tsvector('simple'::regconfig, left(content, {SEARCH_TEXT_CHARS})), 'C')",
            persisted=True,
        ),
        deferred=True,
    )

    __table_args__ = (
        UniqueConstraint("agent_id", "key"),
        CheckConstraint(
            "embedding IS NULL OR array_ndims(embedding) = 1", name="embedding_is_vector"
        ),
        Index("ix_memories_search", "search", postgresql_using="gin"),
    )


# --------------------------------------------------------------------------- router


class ChatRoute(Base):
    """The agent last used in a chat, for routing without a prefix. Owner: router.

    ``channel`` is e.g. ``telegram``; ``chat_id`` is the channel's chat id as text.
    """

    __tablename__ = "chat_routes"

    channel: Mapped[str] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(primary_key=True)
    agent_id: Mapped[str] = mapped_column(_agent_fk("CASCADE"))
    updated_at: Mapped[dt.datetime] = _updated_at()


# --------------------------------------------------------------------------- telegram


TELEGRAM_SENDER_STATUSES = ("pending", "approved", "denied")
TELEGRAM_REPLY_STATES = ("pending", "sent", "failed")


class TelegramSender(Base):
    """A Telegram user who wrote to the bot. Owner: gateway-telegram.

    Unknown senders start ``pending`` and are refused until the owner
    approves them; ``last_notified_at`` rate-limits telling the owner.
    """

    __tablename__ = "telegram_senders"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None]
    display_name: Mapped[str | None]
    status: Mapped[str] = mapped_column(server_default="pending", default="pending")
    first_seen_at: Mapped[dt.datetime] = _created_at()
    last_seen_at: Mapped[dt.datetime] = _created_at()
    last_notified_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]

    __table_args__ = (CheckConstraint(f"status IN {TELEGRAM_SENDER_STATUSES!r}", name="status"),)


class TelegramReply(Base):
    """Delivery record of one chunk of an agent reply. Owner: gateway-telegram.

    Keyed by the reply's ``msg_id``, the chat and the chunk index, so a
    redelivered output sends only the chunks that were not sent yet.
    """

    __tablename__ = "telegram_replies"

    msg_id: Mapped[str] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chunk_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(server_default="pending", default="pending")
    error: Mapped[str | None]
    created_at: Mapped[dt.datetime] = _created_at()
    sent_at: Mapped[dt.datetime | None]

    __table_args__ = (CheckConstraint(f"state IN {TELEGRAM_REPLY_STATES!r}", name="state"),)


# --------------------------------------------------------------------------- model proxy


class AgentTokenUsage(Base):
    """Tokens used per agent, UTC day and model. Owner: model-proxy.

    No foreign key to ``agents``: swarm members (``swarm-…``) use the model
    too. Increment with :func:`praktor_common.db.usage.record_token_usage`.
    """

    __tablename__ = "agent_token_usage"

    agent_id: Mapped[str] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(primary_key=True, server_default="")
    requests: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    cache_creation_input_tokens: Mapped[int] = mapped_column(
        BigInteger, server_default=text("0"), default=0
    )
    cache_read_input_tokens: Mapped[int] = mapped_column(
        BigInteger, server_default=text("0"), default=0
    )
    updated_at: Mapped[dt.datetime] = _updated_at()
