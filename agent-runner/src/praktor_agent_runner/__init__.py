"""Praktor agent_runner package."""
