"""Praktor vault package."""
