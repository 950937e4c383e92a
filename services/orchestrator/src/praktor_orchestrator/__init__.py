"""Praktor orchestrator package."""
