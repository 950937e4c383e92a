"""Fixtures of the runner's integration tests (the harness lives in ``runner_harness``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from runner_harness import agent_files, agent_id, fake_anthropic, host, runners

__all__ = ["agent_files", "agent_id", "fake_anthropic", "host", "runners"]
