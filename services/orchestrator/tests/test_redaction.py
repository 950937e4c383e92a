"""Secrets never leave in agent output (spec §10.5)."""

from __future__ import annotations

import pytest

from praktor_orchestrator.redaction import (
    REDACTED,
    ModelCredentialRedactors,
    SecretRedactor,
    model_credentials,
)
from services.orchestrator.tests.harness import make_config

KEY = "sk-ant-api03-Zq8vK2mN5pR7tW1xY4"


def redact(text: str, **secrets: str) -> str:
    return SecretRedactor(secrets).redact(text).text


def test_every_exact_occurrence_is_replaced() -> None:
    assert redact(f"{KEY} and again {KEY}.", key=KEY) == f"{REDACTED} and again {REDACTED}."


@pytest.mark.parametrize(
    "written",
    [
        KEY[:8] + "\n" + KEY[8:],
        KEY[:8] + " \t\r\n " + KEY[8:20] + " " + KEY[20:],
    ],
)
def test_a_secret_split_by_whitespace_is_replaced(written: str) -> None:
    assert redact(f"the key is {written}!", key=KEY) == f"the key is {REDACTED}!"


def test_pretty_printed_json_matches_a_compact_secret_and_the_other_way_round() -> None:
    compact = '{"user":"ada","pass":"hunter22"}'
    pretty = '{\n  "user": "ada",\n  "pass": "hunter22"\n}'
    assert redact(f"creds: {pretty}", creds=compact) == f"creds: {REDACTED}"
    assert redact(f"creds: {compact}", creds=pretty) == f"creds: {REDACTED}"


def test_values_shorter_than_eight_bytes_are_not_secrets_worth_matching() -> None:
    assert redact("the pin is 1234567", pin="1234567") == "the pin is 1234567"
    assert redact("the pin is 12345678", pin="12345678") == f"the pin is {REDACTED}"


def test_a_secret_inside_a_longer_one_does_not_leave_the_rest_behind() -> None:
    assert redact(f"x{KEY}x", key=KEY, part=KEY[:12]) == f"x{REDACTED}x"


def test_names_of_found_secrets_are_reported_never_values() -> None:
    result = SecretRedactor({"key": KEY, "other": "not-in-the-text"}).redact(f"a {KEY}")
    assert result.names == ("key",)


def test_text_without_secrets_is_unchanged() -> None:
    text = "Nothing to see here.\n  Indented   text stays   as it is."
    assert redact(text, key=KEY) == text


def test_a_snapshot_ending_inside_a_secret_holds_the_start_of_it_back() -> None:
    redactor = SecretRedactor({"key": KEY})
    assert redactor.redact_snapshot(f"use {KEY[:9]}").text == "use "
    assert redactor.redact_snapshot(f"use {KEY} now").text == f"use {REDACTED} now"
    assert redactor.redact_snapshot("plain sk").text == "plain sk"  # under 3 characters


def test_the_model_credentials_of_the_config_are_redacted_for_every_agent() -> None:
    config = make_config({"coder": {}}, anthropic_api_key=KEY, oauth_token="oauth-token-value")
    assert model_credentials(config) == {
        "defaults.anthropic_api_key": KEY,
        "defaults.oauth_token": "oauth-token-value",
    }
    assert model_credentials(make_config({"coder": {}})) == {}


async def test_the_model_credential_redactor_follows_the_current_config() -> None:
    class Follower:
        current = make_config({"coder": {}}, anthropic_api_key=KEY)

    follower = Follower()
    redactors = ModelCredentialRedactors(follower)
    assert (await redactors.redactor_for("coder")).redact(KEY).text == REDACTED

    follower.current = make_config({"coder": {}}, anthropic_api_key="another-key-value")
    redactor = await redactors.redactor_for("coder")
    assert redactor.redact(KEY).text == KEY
    assert redactor.redact("another-key-value").text == REDACTED
