"""Praktor web package."""
