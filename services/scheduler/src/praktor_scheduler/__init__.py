"""Praktor scheduler package."""
