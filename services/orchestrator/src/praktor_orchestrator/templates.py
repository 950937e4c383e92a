"""The files a new agent and a new install start with (spec §5.2; content is data)."""

from __future__ import annotations

from typing import Final

AGENT_CLAUDE_MD: Final = """# Agent Memory

Notes this agent keeps for itself; Claude Code loads this file in every session.
"""

AGENT_MD: Final = """# Agent Identity

## Name
(display name)

## Vibe
(personality & communication style)

## Expertise
(areas of specialization)
"""

GLOBAL_CLAUDE_MD: Final = """# Global Instructions

Every agent loads these instructions, in every session.
"""

USER_MD: Final = """# User Profile

## Name
(your name)

## Preferred Name
(what agents should call you)

## Pronouns
(e.g. she/her, he/him, they/them)

## Timezone
(e.g. Europe/Athens)

## Notes
(anything agents should know about you)

## Interests
(topics you care about)
"""
