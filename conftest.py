"""Fixtures shared by every package's tests.

A private NATS with auth, a private PostgreSQL, and the local stand-ins for
what these machines cannot reach: the Telegram Bot API, the Anthropic API
and an OpenAI-compatible speech API.
"""

pytest_plugins = [
    "praktor_common.testing.nats",
    "praktor_common.testing.postgres",
    "praktor_common.testing.fake_telegram",
    "praktor_common.testing.fake_anthropic",
    "praktor_common.testing.fake_speech",
]
