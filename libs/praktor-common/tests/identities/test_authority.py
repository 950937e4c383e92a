"""The identity directory: created once, private, stable; creds and revocations."""

from __future__ import annotations

import shutil
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from praktor_common.identities import (
    MAX_AGENT_CREDENTIAL_LIFETIME,
    SERVICES,
    SYSTEM_IDENTITY,
    Authority,
    AuthorityError,
)
from praktor_common.identities import authority as authority_module
from praktor_common.identities.jwt import KeyKind, decode_jwt, encode_jwt, new_keypair, public_key


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority.load_or_create(tmp_path / "nats")


def test_directory_is_private_and_every_file_owner_only(authority: Authority) -> None:
    root = authority.directory
    assert _mode(root) == 0o700
    files = [p for p in root.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "operator.nk",
        "operator-signing.nk",
        "operator.jwt",
        "SYS.nk",
        "SYS.jwt",
        "PRAKTOR.nk",
        "PRAKTOR-signing.nk",
        "PRAKTOR.jwt",
    }
    assert all(_mode(p) == 0o600 for p in files), {p.name: oct(_mode(p)) for p in files}


def test_loading_again_keeps_every_key(authority: Authority) -> None:
    again = Authority.load_or_create(authority.directory)
    assert again.operator_public_key == authority.operator_public_key
    assert again.system_account_public_key == authority.system_account_public_key
    assert again.account_public_key == authority.account_public_key
    assert again.account_jwt == authority.account_jwt  # nothing to re-sign
    assert Authority.load(authority.directory).account_public_key == authority.account_public_key


def test_loading_a_missing_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(AuthorityError, match="praktor up"):
        Authority.load(tmp_path / "nowhere")


def test_operator_names_the_system_account_and_signs_accounts_with_its_signing_key(
    authority: Authority,
) -> None:
    operator = decode_jwt(authority.operator_jwt)
    assert operator["sub"] == authority.operator_public_key
    assert operator["nats"]["system_account"] == authority.system_account_public_key
    signing_keys = operator["nats"]["signing_keys"]
    account = decode_jwt(authority.account_jwt)
    assert account["iss"] in signing_keys
    assert account["iss"] != authority.operator_public_key
    assert account["name"] == "PRAKTOR"
    limits = account["nats"]["limits"]
    assert limits["disk_storage"] == -1  # JetStream enabled
    assert limits["mem_storage"] == -1
    assert account["nats"]["default_permissions"] == {
        "pub": {"deny": [">"]},
        "sub": {"deny": [">"]},
    }


def test_server_config_is_operator_mode_with_a_full_resolver_and_jetstream(
    authority: Authority, tmp_path: Path
) -> None:
    text = authority.nats_server_config("127.0.0.1", 4333, tmp_path / "store")
    assert f'operator: "{authority.operator_jwt}"' in text
    assert f'system_account: "{authority.system_account_public_key}"' in text
    assert "type: full" in text
    assert "allow_delete: true" in text
    assert f'  {authority.account_public_key}: "{authority.account_jwt}"' in text
    assert f'  {authority.system_account_public_key}: "{authority.system_account_jwt}"' in text
    assert f'store_dir: "{tmp_path / "store"}"' in text
    assert "max_payload: 16777216" in text
    assert "port: 4333" in text


def test_service_creds_files_are_written_0600_and_left_alone_when_current(
    authority: Authority, tmp_path: Path
) -> None:
    creds_dir = authority.write_service_creds(tmp_path)
    assert creds_dir == tmp_path / "creds"
    assert _mode(creds_dir) == 0o700
    names = {p.stem for p in creds_dir.glob("*.creds")}
    assert names == {*SERVICES, SYSTEM_IDENTITY}
    for path in creds_dir.glob("*.creds"):
        assert _mode(path) == 0o600
        text = path.read_text()
        assert "-----BEGIN NATS USER JWT-----" in text
        assert "-----BEGIN USER NKEY SEED-----" in text
    before = {p.name: p.stat().st_mtime_ns for p in creds_dir.glob("*.creds")}
    time.sleep(0.01)
    authority.write_service_creds(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in creds_dir.glob("*.creds")} == before


def test_a_service_keeps_its_key_and_speaks_with_its_own_inbox(authority: Authority) -> None:
    first = authority.service_credentials("router")
    second = authority.service_credentials("router")
    assert first.public_key == second.public_key
    assert first.inbox_prefix == "_INBOX_router"
    claims = decode_jwt(first.jwt)
    assert claims["nats"]["issuer_account"] == authority.account_public_key
    assert claims["nats"]["sub"]["allow"][0] == "_INBOX_router.>"
    assert claims["nats"]["resp"] == {"max": 1, "ttl": 0}
    assert "exp" not in claims
    assert first.seed not in repr(first)


def test_the_system_user_belongs_to_the_system_account(authority: Authority) -> None:
    creds = authority.system_credentials()
    claims = decode_jwt(creds.jwt)
    assert claims["iss"] == authority.system_account_public_key
    assert "$SYS.REQ.CLAIMS.UPDATE" in claims["nats"]["pub"]["allow"]
    assert "resp" not in claims["nats"]


def test_unknown_service_is_refused(authority: Authority) -> None:
    with pytest.raises(KeyError, match="unknown service identity 'mailer'"):
        authority.service_credentials("mailer")


def test_agent_credentials_are_fresh_expiring_and_scoped(authority: Authority) -> None:
    a = authority.mint_agent_credentials("coder", timedelta(hours=2))
    b = authority.mint_agent_credentials("coder", timedelta(hours=2))
    assert a.public_key != b.public_key
    assert a.inbox_prefix == "_INBOX_agent_coder"
    claims = decode_jwt(a.jwt)
    assert claims["name"] == "agent_coder"
    assert abs(claims["exp"] - (time.time() + 7200)) < 5
    assert a.expires_at is not None
    assert a.expires_at > datetime.now(UTC)
    assert "agent.coder.output" in claims["nats"]["pub"]["allow"]
    assert "agent.coder.control" in claims["nats"]["sub"]["allow"]


@pytest.mark.parametrize(
    "lifetime", [timedelta(0), MAX_AGENT_CREDENTIAL_LIFETIME + timedelta(seconds=1)]
)
def test_agent_credentials_must_expire_within_the_maximum(
    authority: Authority, lifetime: timedelta
) -> None:
    with pytest.raises(ValueError, match="must expire within"):
        authority.mint_agent_credentials("coder", lifetime)


def test_revoking_writes_a_newer_account_jwt_with_the_revocation(authority: Authority) -> None:
    creds = authority.mint_agent_credentials("coder", timedelta(hours=1))
    before = decode_jwt(authority.account_jwt)
    token = authority.revoke(creds.public_key)
    after = decode_jwt(token)
    assert after["iat"] > before["iat"]
    assert after["nats"]["revocations"][creds.public_key] >= decode_jwt(creds.jwt)["iat"]
    assert authority.revocations() == after["nats"]["revocations"]
    # persisted: a process loading the directory sees it
    assert Authority.load(authority.directory).revocations() == authority.revocations()
    # and the server config preloads the revoked state
    assert token in authority.nats_server_config("127.0.0.1", 1, authority.directory / "s")


def test_revoking_merges_what_the_server_holds_and_drops_expired_revocations(
    authority: Authority,
) -> None:
    other_replica = authority.mint_agent_credentials("web-helper", timedelta(hours=1)).public_key
    stale = public_key(new_keypair(KeyKind.USER))
    long_ago = int(time.time() - MAX_AGENT_CREDENTIAL_LIFETIME.total_seconds() - 60)
    service_key = authority.service_credentials("router").public_key
    account_claims = decode_jwt(authority.account_jwt)["nats"]
    server_jwt = encode_jwt(
        signer=new_keypair(KeyKind.OPERATOR),
        subject=authority.account_public_key,
        name="PRAKTOR",
        nats={
            **account_claims,
            "revocations": {
                other_replica: int(time.time()),
                stale: long_ago,
                service_key: long_ago,
            },
        },
    )
    mine = authority.mint_agent_credentials("coder", timedelta(hours=1)).public_key
    revoked = decode_jwt(authority.revoke(mine, known_account_jwt=server_jwt))["nats"][
        "revocations"
    ]
    assert mine in revoked
    assert other_replica in revoked
    assert stale not in revoked  # every JWT of it has expired
    assert service_key in revoked  # a stable key stays revoked


def test_only_user_keys_can_be_revoked(authority: Authority) -> None:
    with pytest.raises(ValueError, match="not a user public key"):
        authority.revoke(authority.account_public_key)


def test_minting_and_revoking_do_not_need_the_operator_root_key(
    authority: Authority, tmp_path: Path
) -> None:
    view_dir = tmp_path / "orchestrator-view"
    shutil.copytree(authority.directory, view_dir)
    (view_dir / "operator.nk").unlink()
    view = Authority.load(view_dir)
    assert view.operator_public_key == authority.operator_public_key
    creds = view.mint_agent_credentials("coder", timedelta(hours=1))
    revoked = decode_jwt(view.revoke(creds.public_key))["nats"]["revocations"]
    assert creds.public_key in revoked


def test_revoking_where_the_directory_cannot_be_written_keeps_the_new_jwt_in_memory(
    authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. the orchestrator's container mounts the identities read-only
    def refuse(path: Path, text: str) -> None:
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(authority_module, "write_private", refuse)
    saved = (authority.directory / "accounts" / "PRAKTOR.jwt").read_text()
    creds = authority.mint_agent_credentials("coder", timedelta(hours=1))
    token = authority.revoke(creds.public_key)
    assert creds.public_key in decode_jwt(token)["nats"]["revocations"]
    assert authority.account_jwt == token
    assert (authority.directory / "accounts" / "PRAKTOR.jwt").read_text() == saved
    # a later revocation builds on the one kept in memory
    other = authority.mint_agent_credentials("writer", timedelta(hours=1))
    revoked = decode_jwt(authority.revoke(other.public_key))["nats"]["revocations"]
    assert {creds.public_key, other.public_key} <= set(revoked)
