"""The vault service over a real, authenticated NATS, called as the real identities."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import nats.errors
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from structlog.testing import capture_logs

from praktor_common.contracts import vault as c
from praktor_common.contracts.service import Deleted, Done
from praktor_vault.vault import VaultError
from services.vault.tests.support import RunningVault, call, ok, refused

pytestmark = pytest.mark.integration

VALUE = "ghp_S3cr3tV4lue-never-in-a-reply"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) + b"\x00\xff\r\n"


def text_secret(name: str, value: str = VALUE, **fields: Any) -> c.SecretSetRequest:
    return c.SecretSetRequest(name=name, value=SecretStr(value), **fields)


def file_secret(name: str, data: bytes, filename: str, **fields: Any) -> c.SecretSetRequest:
    return c.SecretSetRequest(
        name=name,
        value=SecretStr(base64.b64encode(data).decode()),
        encoding="base64",
        filename=filename,
        **fields,
    )


def plaintext(secret: c.ResolvedSecret) -> bytes:
    value = secret.value.get_secret_value()
    return base64.b64decode(value) if secret.encoding == "base64" else value.encode()


# --- CRUD ----------------------------------------------------------------------------------


async def test_set_get_list_delete_round_trip_without_ever_returning_a_value(
    running_vault: RunningVault,
) -> None:
    cli = await running_vault.client("cli-admin")
    web = await running_vault.client("web")
    saved = await ok(
        cli,
        c.SECRET_SET,
        text_secret("github-token", description="GitHub", is_global=True),
    )
    assert saved.secret.name == saved.secret.id == "github-token"
    assert (saved.secret.kind, saved.secret.is_global) == ("string", True)

    raw = await web.request(
        c.SECRET_GET.subject, c.SecretNameRequest(name="github-token").model_dump_json().encode()
    )
    assert VALUE not in raw.data.decode()
    got = c.SECRET_GET.parse_reply(raw.data)
    assert isinstance(got, c.SecretReply)
    assert got.secret.description == "GitHub"

    await ok(web, c.SECRET_SET, text_secret("aws-key"))
    listed = await ok(web, c.SECRET_LIST, c.SecretListRequest())
    assert [s.name for s in listed.secrets] == ["aws-key", "github-token"]

    assert await ok(cli, c.SECRET_DELETE, c.SecretNameRequest(name="aws-key")) == Deleted(
        deleted=True
    )
    assert await ok(cli, c.SECRET_DELETE, c.SecretNameRequest(name="aws-key")) == Deleted(
        deleted=False
    )
    missing = await refused(web, c.SECRET_GET, c.SecretNameRequest(name="aws-key"))
    assert (missing.code, missing.error) == ("not_found", "no secret 'aws-key'")


async def test_an_update_keeps_what_it_does_not_name(running_vault: RunningVault) -> None:
    cli = await running_vault.client("cli-admin")
    orchestrator = await running_vault.client("orchestrator")
    await ok(cli, c.SECRET_SET, text_secret("token", description="first", is_global=True))
    updated = await ok(cli, c.SECRET_SET, text_secret("token", value="second value"))
    assert (updated.secret.description, updated.secret.is_global) == ("first", True)
    assert updated.secret.updated_at >= updated.secret.created_at
    metadata_only = await ok(
        cli, c.SECRET_SET, c.SecretSetRequest(name="token", description="renamed")
    )
    assert metadata_only.secret.description == "renamed"
    resolved = await ok(
        orchestrator, c.SECRET_RESOLVE, c.SecretResolveRequest(agent_id="coder", names=["token"])
    )
    assert [s.value.get_secret_value() for s in resolved.secrets] == ["second value"]


async def test_what_set_refuses(running_vault: RunningVault) -> None:
    cli = await running_vault.client("cli-admin")
    no_value = await refused(cli, c.SECRET_SET, c.SecretSetRequest(name="new"))
    assert no_value.code == "invalid"
    assert "needs a value" in no_value.error
    await ok(cli, c.SECRET_SET, text_secret("taken"))
    taken = await refused(cli, c.SECRET_SET, text_secret("taken", create_only=True))
    assert (taken.code, taken.error) == ("conflict", "secret 'taken' already exists")
    nobody = await refused(cli, c.SECRET_SET, text_secret("x", agent_ids=["ghost"]))
    assert nobody.code == "not_found"
    assert "'ghost'" in nobody.error
    bad = await refused(
        cli, c.SECRET_SET, c.SecretSetRequest(name="b", value=SecretStr("%%%"), encoding="base64")
    )
    assert (bad.code, bad.error) == ("invalid", "the value is not valid base64")


async def test_a_malformed_request_gets_an_error_that_does_not_echo_the_value(
    running_vault: RunningVault,
) -> None:
    cli = await running_vault.client("cli-admin")
    body = b'{"name": "has space", "value": "' + VALUE.encode() + b'"}'
    raw = await cli.request(c.SECRET_SET.subject, body, timeout=10)
    reply = c.SECRET_SET.parse_reply(raw.data)
    assert not isinstance(reply, c.SecretReply)
    assert reply.code == "invalid"
    assert reply.error.startswith("bad set request: name:")
    assert VALUE not in raw.data.decode()


async def test_a_binary_file_comes_back_byte_exact(running_vault: RunningVault) -> None:
    web = await running_vault.client("web")
    orchestrator = await running_vault.client("orchestrator")
    saved = await ok(web, c.SECRET_SET, file_secret("tls-cert", PNG, "cert.png"))
    assert (saved.secret.kind, saved.secret.filename) == ("file", "cert.png")
    await ok(web, c.SECRET_ASSIGN, c.SecretAssignRequest(agent_id="coder", names=["tls-cert"]))
    reply = await ok(
        orchestrator,
        c.SECRET_RESOLVE,
        c.SecretResolveRequest(agent_id="coder", names=["tls-cert"]),
    )
    [secret] = reply.secrets
    assert (secret.kind, secret.filename, secret.encoding) == ("file", "cert.png", "base64")
    assert plaintext(secret) == PNG


# --- assignments and resolution ------------------------------------------------------------


async def test_resolve_gives_an_agent_exactly_the_global_and_assigned_secrets(
    running_vault: RunningVault,
) -> None:
    web = await running_vault.client("web")
    orchestrator = await running_vault.client("orchestrator")
    await ok(web, c.SECRET_SET, text_secret("shared", "for everyone", is_global=True))
    await ok(web, c.SECRET_SET, text_secret("coders", "for coder"))
    await ok(web, c.SECRET_SET, text_secret("writers", "for writer", agent_ids=["writer"]))
    await ok(web, c.SECRET_ASSIGN, c.SecretAssignRequest(agent_id="coder", names=["coders"]))

    asked = c.SecretResolveRequest(
        agent_id="coder", names=["shared", "coders", "writers", "nonexistent"]
    )
    reply = await ok(orchestrator, c.SECRET_RESOLVE, asked)
    assert {s.name: s.value.get_secret_value() for s in reply.secrets} == {
        "shared": "for everyone",
        "coders": "for coder",
    }
    assert (reply.denied, reply.missing, reply.failed) == (["writers"], ["nonexistent"], [])

    everything = await ok(
        orchestrator,
        c.SECRET_RESOLVE,
        c.SecretResolveRequest(agent_id="writer", all_accessible=True),
    )
    assert sorted(s.name for s in everything.secrets) == ["shared", "writers"]

    accessible = await ok(web, c.SECRET_LIST, c.SecretListRequest(agent_id="coder"))
    assert [s.name for s in accessible.secrets] == ["coders", "shared"]


async def test_unassigning_takes_the_secret_away(running_vault: RunningVault) -> None:
    cli = await running_vault.client("cli-admin")
    orchestrator = await running_vault.client("orchestrator")
    await ok(cli, c.SECRET_SET, text_secret("token", agent_ids=["coder", "writer"]))
    assert (
        await ok(cli, c.SECRET_UNASSIGN, c.SecretUnassignRequest(agent_id="coder", names=["token"]))
        == Done()
    )
    reply = await ok(
        orchestrator, c.SECRET_RESOLVE, c.SecretResolveRequest(agent_id="coder", names=["token"])
    )
    assert (reply.secrets, reply.denied) == ([], ["token"])
    got = await ok(cli, c.SECRET_GET, c.SecretNameRequest(name="token"))
    assert got.secret.agent_ids == ["writer"]


async def test_an_exclusive_assignment_replaces_the_agents_whole_set(
    running_vault: RunningVault,
) -> None:
    web = await running_vault.client("web")
    for name in ("a", "b", "c"):
        await ok(web, c.SECRET_SET, text_secret(name))
    await ok(web, c.SECRET_ASSIGN, c.SecretAssignRequest(agent_id="coder", names=["a", "b"]))
    await ok(
        web,
        c.SECRET_ASSIGN,
        c.SecretAssignRequest(agent_id="coder", names=["c"], exclusive=True),
    )
    listed = await ok(web, c.SECRET_LIST, c.SecretListRequest(agent_id="coder"))
    assert [s.name for s in listed.secrets] == ["c"]


async def test_assigning_names_what_does_not_exist(running_vault: RunningVault) -> None:
    cli = await running_vault.client("cli-admin")
    await ok(cli, c.SECRET_SET, text_secret("real"))
    no_secret = await refused(
        cli, c.SECRET_ASSIGN, c.SecretAssignRequest(agent_id="coder", names=["real", "ghost"])
    )
    assert (no_secret.code, no_secret.error) == ("not_found", "no secret 'ghost'")
    no_agent = await refused(
        cli, c.SECRET_ASSIGN, c.SecretAssignRequest(agent_id="nobody", names=["real"])
    )
    assert no_agent.code == "not_found"
    assert "no agent 'nobody'" in no_agent.error
    got = await ok(cli, c.SECRET_GET, c.SecretNameRequest(name="real"))
    assert got.secret.agent_ids == []


async def test_a_secret_that_does_not_decrypt_is_reported_not_returned(
    running_vault: RunningVault,
) -> None:
    web = await running_vault.client("web")
    orchestrator = await running_vault.client("orchestrator")
    await ok(web, c.SECRET_SET, text_secret("broken", is_global=True))
    async with running_vault.engine.begin() as conn:
        await conn.execute(
            text("UPDATE secrets SET value = set_byte(value, 0, get_byte(value, 0) # 1)")
        )
    reply = await ok(
        orchestrator, c.SECRET_RESOLVE, c.SecretResolveRequest(agent_id="coder", names=["broken"])
    )
    assert (reply.secrets, reply.failed) == ([], ["broken"])


# --- who may call what ---------------------------------------------------------------------


class Violations:
    def __init__(self) -> None:
        self.errors: list[str] = []

    async def on_error(self, error: Exception) -> None:
        self.errors.append(str(error))


@pytest.mark.parametrize("identity", ["web", "cli-admin"])
async def test_web_and_the_cli_cannot_resolve_values(
    running_vault: RunningVault, identity: str
) -> None:
    web = await running_vault.client("web")
    await ok(web, c.SECRET_SET, text_secret("token", is_global=True))
    violations = Violations()
    client = await running_vault.client(identity, error_cb=violations.on_error)
    request = c.SecretResolveRequest(agent_id="coder", names=["token"])
    with pytest.raises(nats.errors.TimeoutError):
        await call(client, c.SECRET_RESOLVE, request, timeout=1.0)
    assert 'permissions violation for publish to "svc.vault.resolve"' in " ".join(violations.errors)
    orchestrator = await running_vault.client("orchestrator")
    reply = await ok(orchestrator, c.SECRET_RESOLVE, request)
    assert [s.value.get_secret_value() for s in reply.secrets] == [VALUE]


async def test_a_reply_only_goes_to_a_caller_the_contract_names(
    running_vault: RunningVault,
) -> None:
    orchestrator = await running_vault.client("orchestrator")
    not_for_orchestrator = await refused(orchestrator, c.SECRET_SET, text_secret("x"))
    assert not_for_orchestrator.code == "forbidden"
    web = await running_vault.client("web")
    rotate = c.SecretRotateRequest(
        current_passphrase=SecretStr("whatever it is"), new_passphrase=SecretStr("whatever next")
    )
    not_for_web = await refused(web, c.SECRET_ROTATE, rotate)
    assert (not_for_web.code, not_for_web.error) == (
        "forbidden",
        "svc.vault.rotate is only for cli-admin",
    )
    cli = await running_vault.client("cli-admin")
    listed = await ok(cli, c.SECRET_LIST, c.SecretListRequest())
    assert listed.secrets == []


async def test_a_plain_publish_is_not_a_request_and_changes_nothing(
    running_vault: RunningVault,
) -> None:
    cli = await running_vault.client("cli-admin")
    await cli.publish(c.SECRET_SET.subject, text_secret("sneaky").model_dump_json().encode())
    await cli.flush()
    await asyncio.sleep(0.3)
    assert await ok(cli, c.SECRET_LIST, c.SecretListRequest()) == c.SecretList(secrets=[])


# --- events, logs ---------------------------------------------------------------------------


async def test_changes_are_announced_on_events_secret_with_names_only(
    running_vault: RunningVault,
) -> None:
    cli = await running_vault.client("cli-admin")
    await ok(cli, c.SECRET_SET, text_secret("token"))
    await ok(cli, c.SECRET_SET, text_secret("token", value="new " + VALUE))
    await ok(cli, c.SECRET_ASSIGN, c.SecretAssignRequest(agent_id="coder", names=["token"]))
    await ok(cli, c.SECRET_DELETE, c.SecretNameRequest(name="token"))
    events = await running_vault.events.wait_for(4)
    assert [e["type"] for e in events] == [
        "events.secret.created",
        "events.secret.updated",
        "events.secret.updated",
        "events.secret.deleted",
    ]
    assert all(e["data"] == {"id": "token", "name": "token"} for e in events)
    assert not any(VALUE.encode() in raw for raw in running_vault.events.raw)


async def test_no_log_line_holds_a_value(
    running_vault: RunningVault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    web = await running_vault.client("web")
    orchestrator = await running_vault.client("orchestrator")
    with capture_logs() as logs:
        await ok(web, c.SECRET_SET, text_secret("token", is_global=True))
        await ok(web, c.SECRET_SET, file_secret("file", VALUE.encode(), "f.txt"))
        await ok(
            orchestrator,
            c.SECRET_RESOLVE,
            c.SecretResolveRequest(agent_id="coder", all_accessible=True),
        )
        await refused(web, c.SECRET_SET, text_secret("x", agent_ids=["ghost"]))
    assert any(e["event"] == "secret saved" for e in logs)
    everything = str(logs) + caplog.text
    assert VALUE not in everything
    assert base64.b64encode(VALUE.encode()).decode() not in everything


async def test_an_unexpected_failure_is_an_internal_error_without_details(
    running_vault: RunningVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(request: c.SecretNameRequest) -> c.SecretInfo:
        raise RuntimeError(f"database said {VALUE}")

    monkeypatch.setattr(running_vault.vault, "get_secret", broken)
    web = await running_vault.client("web")
    with capture_logs() as logs:
        reply = await refused(web, c.SECRET_GET, c.SecretNameRequest(name="x"))
    assert (reply.code, reply.error) == ("internal", "the vault failed to get (RuntimeError)")
    assert VALUE not in str(logs)


def test_vault_errors_carry_a_code_and_a_message() -> None:
    error = VaultError("not_found", "no secret 'x'")
    assert (error.code, error.message, str(error)) == (
        "not_found",
        "no secret 'x'",
        "no secret 'x'",
    )


async def test_the_largest_file_secret_round_trips_and_one_byte_more_is_refused(
    running_vault: RunningVault,
) -> None:
    web = await running_vault.client("web")
    orchestrator = await running_vault.client("orchestrator")
    largest = bytes(i % 251 for i in range(c.MAX_SECRET_CHARS // 4 * 3))
    await ok(web, c.SECRET_SET, file_secret("big", largest, "big.bin", is_global=True))
    reply = await ok(
        orchestrator, c.SECRET_RESOLVE, c.SecretResolveRequest(agent_id="coder", names=["big"])
    )
    assert plaintext(reply.secrets[0]) == largest
    too_big = base64.b64encode(largest + b"x").decode()
    body = f'{{"name": "bigger", "value": "{too_big}", "encoding": "base64"}}'.encode()
    raw = await web.request(c.SECRET_SET.subject, body, timeout=10)
    error = c.SECRET_SET.parse_reply(raw.data)
    assert not isinstance(error, c.SecretReply)
    assert error.code == "invalid"
    assert error.error.startswith("bad set request: value:")
