"""Pure parsing for the router: `@agent` prefixes (spec §8) and `@swarm` commands (spec §11.10).

No I/O and no bus: callers pass in the names of the defined agents.

Upstream behaviours kept on purpose (pinned by the golden tests):

* Agent names match case-sensitively; the name ends at the first *space* only
  (a newline or tab after ``@coder`` makes the whole ``coder\\n...`` the name).
* Only ``@name`` and the one space after it are stripped; the rest is kept verbatim.
* An unknown ``@name`` is not an error: :func:`parse_agent_prefix` returns ``None``
  and the router falls through with the original text.
* ``a>b,c`` is a pipeline whose second agent is called ``b,c``; ``a<>b<>c`` is the
  pair (``a``, ``b<>c``). Both then fail as unknown agents.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Collection
from dataclasses import dataclass

__all__ = [
    "SWARM_AGENT_ID",
    "SWARM_PREFIX",
    "AgentPrefix",
    "SwarmCommand",
    "SwarmErrorKind",
    "SwarmSyntaxError",
    "Synapse",
    "parse_agent_prefix",
    "parse_swarm",
]

SWARM_AGENT_ID = "swarm"
SWARM_PREFIX = "@swarm "

_SEPARATOR = ": "
_PIPELINE = ">"
_PAIR = "<>"
_LIST = ","

_HOW_TO = (
    "Write it as `@swarm <agents>: <task>`, where <agents> is one of:\n"
    "  a>b>c   pipeline: each agent hands its work to the next; the last one leads\n"
    "  a,b,c   independent agents; the first one leads\n"
    "  a<>b    collaborating pair (can be mixed with a list: a<>b,c); the first one leads\n"
    "Example: `@swarm researcher>writer: write a post about NATS`"
)


@dataclass(frozen=True, slots=True)
class AgentPrefix:
    """A message addressed at its start to one agent.

    ``swarm`` is true only for the ``@swarm `` prefix (§8 rule 1); then ``text`` is
    the swarm command for :func:`parse_swarm`.
    """

    agent_id: str
    text: str
    swarm: bool = False


def parse_agent_prefix(text: str, known_agents: Collection[str]) -> AgentPrefix | None:
    """Detect ``@swarm `` or ``@<defined agent>`` at the very start of ``text`` (§8 rules 1-2).

    Returns ``None`` when the text has no prefix or names an agent that is not
    defined; the caller then routes the original, unchanged text.
    """
    if text.startswith(SWARM_PREFIX):
        return AgentPrefix(agent_id=SWARM_AGENT_ID, text=text[len(SWARM_PREFIX) :], swarm=True)
    if not text.startswith("@"):
        return None
    name, _, remainder = text[1:].partition(" ")
    if name not in known_agents:
        return None
    return AgentPrefix(agent_id=name, text=remainder)


@dataclass(frozen=True, slots=True)
class Synapse:
    """A link between two swarm agents: ``source → target``, or ``source ↔ target``."""

    source: str
    target: str
    bidirectional: bool


@dataclass(frozen=True, slots=True)
class SwarmCommand:
    """A parsed ``@swarm`` command.

    Each agent name is used as its agent id, role and workspace. ``agents`` has
    duplicates removed (first position kept); ``synapses`` keeps every link written.
    """

    agents: tuple[str, ...]
    lead: str
    synapses: tuple[Synapse, ...]
    task: str
    pipeline: bool


class SwarmErrorKind(enum.Enum):
    MISSING_SEPARATOR = "missing_separator"
    EMPTY_TASK = "empty_task"
    EMPTY_AGENT_NAME = "empty_agent_name"
    UNKNOWN_AGENT = "unknown_agent"


@dataclass(frozen=True, slots=True)
class SwarmSyntaxError:
    """Why a ``@swarm`` command cannot be run; ``message`` is ready to show the user."""

    kind: SwarmErrorKind
    message: str
    agent: str | None = None


class _Invalid(Exception):
    def __init__(self, error: SwarmSyntaxError) -> None:
        super().__init__(error.message)
        self.error = error


def parse_swarm(
    text: str, *, known_agents: Collection[str] | None = None
) -> SwarmCommand | SwarmSyntaxError:
    """Parse the text after ``@swarm `` as ``<agents>: <task>`` (§11.10).

    When ``known_agents`` is given, every agent must be one of them; with
    ``None`` names are not checked (the caller validates against its registry).
    Checks run in upstream order: separator, task, then agents left to right.
    """
    spec, separator, task = text.partition(_SEPARATOR)
    if not separator:
        return SwarmSyntaxError(
            SwarmErrorKind.MISSING_SEPARATOR,
            f"Missing `: ` between the agents and the task.\n{_HOW_TO}",
        )
    spec, task = spec.strip(), task.strip()
    if not task:
        return SwarmSyntaxError(
            SwarmErrorKind.EMPTY_TASK,
            f"A task is required after `: ` (task is required).\n{_HOW_TO}",
        )
    builder = _Builder(known_agents)
    try:
        if _PIPELINE in spec and _PAIR not in spec:
            names = [builder.add(part) for part in spec.split(_PIPELINE)]
            for source, target in itertools.pairwise(names):
                builder.synapses.append(Synapse(source, target, bidirectional=False))
            lead = names[-1]
            pipeline = True
        else:
            for segment in spec.split(_LIST):
                if _PAIR in segment:
                    left, _, right = segment.partition(_PAIR)
                    a, b = builder.add(left), builder.add(right)
                    builder.synapses.append(Synapse(a, b, bidirectional=True))
                else:
                    builder.add(segment)
            lead = builder.agents[0]
            pipeline = False
    except _Invalid as invalid:
        return invalid.error
    return SwarmCommand(
        agents=tuple(builder.agents),
        lead=lead,
        synapses=tuple(builder.synapses),
        task=task,
        pipeline=pipeline,
    )


class _Builder:
    def __init__(self, known_agents: Collection[str] | None) -> None:
        self._known = known_agents
        self.agents: list[str] = []
        self.synapses: list[Synapse] = []

    def add(self, raw: str) -> str:
        name = raw.strip()
        if not name:
            raise _Invalid(
                SwarmSyntaxError(
                    SwarmErrorKind.EMPTY_AGENT_NAME,
                    "empty agent name: every agent between `>`, `,` or `<>` needs a name "
                    f"(check for doubled or trailing separators).\n{_HOW_TO}",
                )
            )
        if self._known is not None and name not in self._known:
            defined = ", ".join(sorted(self._known)) or "none"
            raise _Invalid(
                SwarmSyntaxError(
                    SwarmErrorKind.UNKNOWN_AGENT,
                    f"unknown agent: {name}. Defined agents: {defined}. "
                    "Swarms can only use agents defined in the configuration; "
                    "mixing `>` with `,` or chaining `<>` is not supported.\n"
                    f"{_HOW_TO}",
                    agent=name,
                )
            )
        if name not in self.agents:
            self.agents.append(name)
        return name
