"""Praktor shared library: what every service stands on."""

__version__ = "0.1.0"
