"""``python -m praktor_agent_runner``."""

from praktor_agent_runner.main import main

main()
