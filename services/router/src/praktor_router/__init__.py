"""Praktor router package."""
