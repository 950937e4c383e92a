"""Praktor model_proxy package."""
