"""Praktor agent-runner: runs inside each agent container and drives Claude Code.

Modules: ``settings`` (the environment contract), ``home`` (clean environment,
``$HOME/.claude``), ``prompt`` (the system prompt), ``session`` (Claude Code
processes, kept warm), ``outcome`` / ``turns`` (running and settling turns),
``bus`` (NATS: consumer, outputs, control, route), ``ipc`` + ``tools`` (the
agent's own MCP tools over ``host.ipc.<id>``), ``main`` (wiring, signals).
"""
