"""Praktor gateway_telegram package."""
