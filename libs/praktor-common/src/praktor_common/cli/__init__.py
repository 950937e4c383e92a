"""The ``praktor`` command."""
