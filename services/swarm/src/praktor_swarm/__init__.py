"""Praktor swarm package."""
