"""Secrets never leave in agent output (spec §10.5)."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

import pytest

from praktor_orchestrator.redaction import (
    MIN_PARTIAL_CHARS,
    REDACTED,
    AgentRedactors,
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


# -- encoded forms and streamed hold-back ------------------------------------------------

GH = "ghp_R4nd0mT0k3n/with+sym&bols=="


def test_the_base64_of_a_secret_is_replaced_in_both_alphabets() -> None:
    standard = base64.b64encode(GH.encode()).decode()
    urlsafe = base64.urlsafe_b64encode(GH.encode()).decode()
    assert redact(f"b64: {standard}", gh=GH) == f"b64: {REDACTED}"
    assert redact(f"b64url: {urlsafe}", gh=GH) == f"b64url: {REDACTED}"


@pytest.mark.parametrize("prefix", [b"", b"T", b"TO", b"TOKEN=", b"Authorization: "])
def test_a_secret_inside_a_longer_base64_blob_is_caught_at_every_alignment(prefix: bytes) -> None:
    blob = base64.b64encode(prefix + GH.encode() + b"\n").decode()
    redacted = redact(f"blob {blob}", gh=GH)
    assert REDACTED in redacted
    decodable = redacted.removeprefix("blob ").replace(REDACTED, "")
    assert GH not in decodable


def test_the_url_encoded_forms_of_a_secret_are_replaced() -> None:
    spaced = "correct horse/battery staple"
    assert redact(f"?t={quote(GH, safe='')}", gh=GH) == f"?t={REDACTED}"
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(GH, safe=""))
    assert redact(f"?t={lower_hex}", gh=GH) == f"?t={REDACTED}"
    assert redact(f"/p/{quote(GH)}", gh=GH) == f"/p/{REDACTED}"
    assert redact(f"q={quote_plus(spaced)}", pw=spaced) == f"q={REDACTED}"


def test_a_secret_split_across_two_streamed_chunks_never_shows() -> None:
    redactor = SecretRedactor({"gh": GH})
    streamed = f"Your token is {GH}, keep it safe."
    shown = []
    for cut in range(len("Your token is ") + 1, len(streamed)):
        shown.append(redactor.redact_snapshot(streamed[:cut]).text)
    final = redactor.redact(streamed).text
    assert final == f"Your token is {REDACTED}, keep it safe."
    for snapshot in shown:
        assert GH[:MIN_PARTIAL_CHARS] not in snapshot


def test_a_split_base64_form_is_held_back_too() -> None:
    encoded = base64.b64encode(GH.encode()).decode()
    redactor = SecretRedactor({"gh": GH})
    assert redactor.redact_snapshot(f"see {encoded[:12]}").text == "see "
    assert redactor.redact_snapshot(f"see {encoded} ok").text == f"see {REDACTED} ok"


async def test_an_agents_own_secrets_and_the_model_credential_are_both_redacted() -> None:
    class Follower:
        current = make_config({"coder": {}}, anthropic_api_key=KEY)

    class Book:
        async def values_for(self, agent_id: str) -> dict[str, str]:
            return {"gh": GH} if agent_id == "coder" else {}

    redactors = AgentRedactors(Follower(), Book())
    coder = await redactors.redactor_for("coder")
    other = await redactors.redactor_for("writer")
    assert coder.redact(f"{GH} {KEY}").text == f"{REDACTED} {REDACTED}"
    assert other.redact(f"{GH} {KEY}").text == f"{GH} {REDACTED}"
