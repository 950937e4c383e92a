"""The bus's trust root: operator, accounts and user credentials (NATS operator mode).

One operator (``praktor``) signs two accounts: the system account ``SYS`` (server
administration; its ``sys-admin`` user pushes account updates) and the
application account ``PRAKTOR`` (JetStream enabled), in which every service and
every agent is a user with its own permissions
(:mod:`praktor_common.identities.permissions`). Users are signed by the
account's signing key, never by the account's identity key.

Everything lives in one directory (``<data dir>/nats``, mode 0700, files 0600)::

    operator.nk  operator-signing.nk  operator.jwt
    accounts/SYS.nk  accounts/SYS.jwt
    accounts/PRAKTOR.nk  accounts/PRAKTOR-signing.nk  accounts/PRAKTOR.jwt
    users/<identity>.nk         stable keys of the services and sys-admin
    creds/<identity>.creds      written by write_service_creds()

Revocation. An agent's credentials are revoked by adding its public key to
the ``PRAKTOR`` account JWT's revocation list (every JWT of that key issued
up to now stops being valid); the new account JWT is saved here and pushed to
the running server (``$SYS.REQ.CLAIMS.UPDATE``, by
:mod:`praktor_common.identities.issuer`), which disconnects that user. Agent
credentials always expire (at most :data:`MAX_AGENT_CREDENTIAL_LIFETIME`), so
a revocation older than that is dropped the next time the list changes.

The server runs the ``full`` account resolver (accepts updates at runtime,
keeps them in its store) with both account JWTs preloaded; a preload older
than what the server already holds is ignored, so restarting never undoes a
revocation.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import nkeys
import structlog

from praktor_common.identities import permissions as perms
from praktor_common.identities.credentials import Credentials, write_private
from praktor_common.identities.jwt import (
    KeyKind,
    decode_jwt,
    encode_jwt,
    keypair_from_seed,
    new_keypair,
    public_key,
    seed_text,
)

log = structlog.get_logger(__name__)

OPERATOR_NAME: Final = "praktor"
SYSTEM_ACCOUNT: Final = "SYS"
APP_ACCOUNT: Final = "PRAKTOR"
DEFAULT_MAX_PAYLOAD: Final = 16 * 1024 * 1024
MAX_CONTROL_LINE: Final = 64 * 1024
MAX_AGENT_CREDENTIAL_LIFETIME: Final = timedelta(days=30)

_UNLIMITED: Final[Mapping[str, Any]] = {
    "subs": -1,
    "data": -1,
    "payload": -1,
    "imports": -1,
    "exports": -1,
    "wildcards": True,
    "conn": -1,
    "leaf": -1,
}
_JETSTREAM_UNLIMITED: Final[Mapping[str, Any]] = {
    "mem_storage": -1,
    "disk_storage": -1,
    "streams": -1,
    "consumer": -1,
}
# A user whose JWT carried no permissions would get the account defaults: none.
_DENY_ALL: Final[Mapping[str, Any]] = {"pub": {"deny": [">"]}, "sub": {"deny": [">"]}}


class AuthorityError(RuntimeError):
    """The identity directory is missing, incomplete or unreadable."""


def _user_permissions(p: perms.Permissions) -> dict[str, Any]:
    def rule(allow: Iterable[str], deny: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"allow": list(allow)}
        if deny := list(deny):
            out["deny"] = deny
        return out

    doc: dict[str, Any] = {
        "pub": rule(p.publish, p.publish_deny),
        "sub": rule(p.subscribe, p.subscribe_deny),
        "subs": -1,
        "data": -1,
        "payload": -1,
        "type": "user",
    }
    if p.allow_responses:
        # max one reply per request, within the server's default two minutes
        doc["resp"] = {"max": 1, "ttl": 0}
    return doc


@dataclass
class _Account:
    name: str
    key: nkeys.KeyPair
    signing: nkeys.KeyPair | None
    jwt: str


class Authority:
    """Operator, accounts and user credentials kept in one private directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # The operator's own key (operator.nk) is only needed to create the
        # operator JWT: a process that mints and revokes can run without it.
        self._operator_signing = keypair_from_seed(
            self._read("operator-signing.nk"), KeyKind.OPERATOR
        )
        self.operator_jwt = self._read("operator.jwt")
        self._operator_public_key = str(decode_jwt(self.operator_jwt)["sub"])
        self._system = _Account(
            SYSTEM_ACCOUNT,
            keypair_from_seed(self._read("accounts/SYS.nk"), KeyKind.ACCOUNT),
            None,
            self._read("accounts/SYS.jwt"),
        )
        self._app = _Account(
            APP_ACCOUNT,
            keypair_from_seed(self._read("accounts/PRAKTOR.nk"), KeyKind.ACCOUNT),
            keypair_from_seed(self._read("accounts/PRAKTOR-signing.nk"), KeyKind.ACCOUNT),
            self._read("accounts/PRAKTOR.jwt"),
        )

    # --- loading -------------------------------------------------------------------

    @classmethod
    def load_or_create(cls, directory: Path) -> Authority:
        """Load the authority in ``directory``, creating what is missing (0700 / 0600)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        directory.chmod(0o700)
        with _locked(directory):
            _create_missing(directory)
            authority = cls(directory)
            authority._refresh_account_claims()
        return authority

    @classmethod
    def load(cls, directory: Path) -> Authority:
        """Load an existing authority (a service that mints agent credentials)."""
        if not (directory / "operator.jwt").exists():
            raise AuthorityError(
                f"no NATS identities in {directory}: run `praktor up` once, "
                "or point PRAKTOR_DATA_DIR at the data directory that holds them"
            )
        return cls(directory)

    def _read(self, relative: str) -> str:
        try:
            return (self.directory / relative).read_text().strip()
        except FileNotFoundError as exc:
            raise AuthorityError(f"{self.directory / relative} is missing") from exc

    # --- public keys and JWTs ----------------------------------------------------------

    @property
    def operator_public_key(self) -> str:
        return self._operator_public_key

    @property
    def system_account_public_key(self) -> str:
        return public_key(self._system.key)

    @property
    def account_public_key(self) -> str:
        """The ``PRAKTOR`` account every service and agent belongs to."""
        return public_key(self._app.key)

    @property
    def system_account_jwt(self) -> str:
        return self._system.jwt

    @property
    def account_jwt(self) -> str:
        """The current ``PRAKTOR`` account JWT (as last saved in the directory)."""
        return self._app.jwt

    def reload_account_jwt(self) -> str:
        """Re-read the saved account JWT (another process may have revoked); keep the newer."""
        saved = self._read("accounts/PRAKTOR.jwt")
        if int(decode_jwt(saved)["iat"]) >= int(decode_jwt(self._app.jwt)["iat"]):
            self._app.jwt = saved
        return self._app.jwt

    # --- server config -----------------------------------------------------------------

    def nats_server_config(
        self,
        host: str,
        port: int,
        store_dir: Path,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        *,
        server_name: str = "praktor",
    ) -> str:
        """A nats-server config: operator mode, full resolver, JetStream in ``store_dir``."""

        def q(value: str | Path) -> str:
            return json.dumps(str(value))

        preload = {
            self.system_account_public_key: self.system_account_jwt,
            self.account_public_key: self.reload_account_jwt(),
        }
        lines = [
            "# Written by praktor (identities.Authority). Regenerated at every start.",
            f"server_name: {q(server_name)}",
            f"host: {q(host)}",
            f"port: {port}",
            f"max_payload: {max_payload}",
            f"max_pending: {max(64 * 1024 * 1024, 2 * max_payload)}",
            # user JWTs with their permission lists travel in the CONNECT line
            f"max_control_line: {MAX_CONTROL_LINE}",
            f"operator: {q(self.operator_jwt)}",
            f"system_account: {q(self.system_account_public_key)}",
            "resolver: {",
            "  type: full",
            f"  dir: {q(store_dir / 'accounts')}",
            "  allow_delete: true",
            '  interval: "2m"',
            '  timeout: "5s"',
            "}",
            "resolver_preload: {",
            *(f"  {key}: {q(jwt)}" for key, jwt in preload.items()),
            "}",
            "jetstream: {",
            f"  store_dir: {q(store_dir)}",
            "}",
        ]
        return "\n".join(lines) + "\n"

    # --- users ------------------------------------------------------------------------

    def _stable_user_key(self, identity: str) -> nkeys.KeyPair:
        path = self.directory / "users" / f"{identity}.nk"
        if path.exists():
            return keypair_from_seed(path.read_text(), KeyKind.USER)
        with _locked(self.directory):
            if path.exists():
                return keypair_from_seed(path.read_text(), KeyKind.USER)
            key = new_keypair(KeyKind.USER)
            write_private(path, seed_text(key) + "\n")
            return key

    def _sign_user(
        self,
        identity: str,
        key: nkeys.KeyPair,
        permissions: perms.Permissions,
        *,
        system: bool = False,
        expires_at: int | None = None,
    ) -> Credentials:
        nats = _user_permissions(permissions)
        if system:
            signer = self._system.key
        else:
            assert self._app.signing is not None
            signer = self._app.signing
            nats["issuer_account"] = self.account_public_key
        token = encode_jwt(
            signer=signer,
            subject=public_key(key),
            name=identity,
            nats=nats,
            expires_at=expires_at,
        )
        return Credentials(
            identity=identity,
            public_key=public_key(key),
            jwt=token,
            seed=seed_text(key),
            inbox_prefix=perms.inbox_prefix(identity),
            expires_at=None if expires_at is None else datetime.fromtimestamp(expires_at, UTC),
        )

    def service_credentials(self, service: str) -> Credentials:
        """Credentials of a service (a stable key; the JWT carries its permissions)."""
        permissions = perms.service_permissions(service)
        return self._sign_user(service, self._stable_user_key(service), permissions)

    def system_credentials(self) -> Credentials:
        """``sys-admin`` in the system account: pushes and looks up account JWTs."""
        key = self._stable_user_key(perms.SYSTEM_IDENTITY)
        return self._sign_user(perms.SYSTEM_IDENTITY, key, perms.SYSTEM_PERMISSIONS, system=True)

    def write_service_creds(self, directory: Path) -> Path:
        """Write ``<directory>/creds/<identity>.creds`` (0600) for every service and sys-admin.

        A file whose permissions are already current is left alone. Returns the
        ``creds`` directory.
        """
        creds_dir = directory / "creds"
        creds_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        creds_dir.chmod(0o700)
        for identity in (*perms.SERVICES, perms.SYSTEM_IDENTITY):
            creds = (
                self.system_credentials()
                if identity == perms.SYSTEM_IDENTITY
                else self.service_credentials(identity)
            )
            path = creds_dir / f"{identity}.creds"
            if not _same_grant(path, creds):
                creds.write(path)
        return creds_dir

    def mint_agent_credentials(
        self,
        agent_id: str,
        expires_in: timedelta,
        *,
        swarm_chats: Iterable[str] = (),
    ) -> Credentials:
        """Fresh credentials for one agent container: a new key, its own subjects only."""
        if not timedelta(0) < expires_in <= MAX_AGENT_CREDENTIAL_LIFETIME:
            raise ValueError(
                f"agent credentials must expire within {MAX_AGENT_CREDENTIAL_LIFETIME} "
                f"(got {expires_in})"
            )
        permissions = perms.agent_permissions(agent_id, swarm_chats)
        return self._sign_user(
            perms.agent_identity(agent_id),
            new_keypair(KeyKind.USER),
            permissions,
            expires_at=int(time.time() + expires_in.total_seconds()),
        )

    # --- revocation ---------------------------------------------------------------------

    def revocations(self) -> dict[str, int]:
        """Revoked user keys of the ``PRAKTOR`` account → revoked-up-to unix time."""
        claims = decode_jwt(self.account_jwt)
        revoked: dict[str, int] = claims["nats"].get("revocations", {}) or {}
        return dict(revoked)

    def revoke(
        self,
        public_keys: str | Iterable[str],
        *,
        at: datetime | None = None,
        known_account_jwt: str | None = None,
    ) -> str:
        """Revoke user keys (every JWT of them issued up to ``at``); returns the new account JWT.

        ``known_account_jwt`` (what the server holds, possibly written by another
        replica) has its revocations merged in. The JWT is saved here; push it
        with :func:`praktor_common.identities.issuer.push_account_jwt`.
        """
        keys = [public_keys] if isinstance(public_keys, str) else list(public_keys)
        for key in keys:
            if not key.startswith("U"):
                raise ValueError(f"{key[:8]}… is not a user public key")
        stamp = int((at or datetime.now(UTC)).timestamp())
        with _locked(self.directory):
            self.reload_account_jwt()
            merged = self.revocations()
            newest_iat = int(decode_jwt(self.account_jwt)["iat"])
            if known_account_jwt is not None:
                other = decode_jwt(known_account_jwt)
                if other.get("sub") != self.account_public_key:
                    raise ValueError("known_account_jwt is not the PRAKTOR account")
                for key, ts in (other["nats"].get("revocations") or {}).items():
                    merged[key] = max(int(ts), merged.get(key, 0))
                newest_iat = max(newest_iat, int(other["iat"]))
            for key in keys:
                merged[key] = max(stamp, merged.get(key, 0))
            self._save_account(self._prune(merged), issued_after=newest_iat)
        return self.account_jwt

    def _prune(self, revocations: dict[str, int]) -> dict[str, int]:
        """Drop revocations every JWT of which has expired (never those of stable keys)."""
        horizon = time.time() - MAX_AGENT_CREDENTIAL_LIFETIME.total_seconds()
        stable = self._stable_public_keys()
        return {k: ts for k, ts in revocations.items() if ts >= horizon or k in stable}

    def _stable_public_keys(self) -> set[str]:
        users = self.directory / "users"
        if not users.exists():
            return set()
        return {public_key(keypair_from_seed(p.read_text())) for p in users.glob("*.nk")}

    def _account_claims(self, revocations: Mapping[str, int]) -> dict[str, Any]:
        assert self._app.signing is not None
        nats: dict[str, Any] = {
            "limits": {**_UNLIMITED, **_JETSTREAM_UNLIMITED},
            "signing_keys": [public_key(self._app.signing)],
            "default_permissions": dict(_DENY_ALL),
            "type": "account",
        }
        if revocations:
            nats["revocations"] = dict(sorted(revocations.items()))
        return nats

    def _save_account(self, revocations: Mapping[str, int], *, issued_after: int = 0) -> None:
        token = encode_jwt(
            signer=self._operator_signing,
            subject=self.account_public_key,
            name=APP_ACCOUNT,
            nats=self._account_claims(revocations),
            # the resolver keeps the newest JWT by issue time: always move forward
            issued_at=max(int(time.time()), issued_after + 1),
        )
        self._app.jwt = token
        try:
            write_private(self.directory / "accounts" / "PRAKTOR.jwt", token + "\n")
        except OSError as exc:
            # e.g. a read-only mount in a container: the server's resolver keeps
            # the pushed JWT, and the next revoke merges what the server holds
            log.warning("account JWT not saved", directory=str(self.directory), error=str(exc))

    def _refresh_account_claims(self) -> None:
        """Re-sign the account JWT when this version of the code wants other claims."""
        claims = decode_jwt(self.account_jwt)
        revocations = claims["nats"].get("revocations") or {}
        want = {**self._account_claims(revocations), "version": 2}
        if claims["nats"] != want or claims.get("iss") != public_key(self._operator_signing):
            self._save_account(revocations, issued_after=int(claims["iat"]))


def _same_grant(path: Path, creds: Credentials) -> bool:
    """True when the creds file at ``path`` holds the same key with the same claims."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return False
    jwt_lines = text.split("-----BEGIN NATS USER JWT-----", 1)[-1].split("------END", 1)[0]
    try:
        old = decode_jwt(jwt_lines.strip())
    except ValueError:
        return False
    new = decode_jwt(creds.jwt)
    return bool(
        old.get("sub") == new.get("sub")
        and old.get("iss") == new.get("iss")
        and old.get("nats") == new.get("nats")
        and creds.seed in text
    )


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise writers of one identity directory (processes and threads)."""
    try:
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # read-only directory: nobody here can write it either
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _create_missing(directory: Path) -> None:
    def seed(relative: str, kind: KeyKind) -> nkeys.KeyPair:
        path = directory / relative
        if path.exists():
            return keypair_from_seed(path.read_text(), kind)
        key = new_keypair(kind)
        write_private(path, seed_text(key) + "\n")
        return key

    operator = seed("operator.nk", KeyKind.OPERATOR)
    operator_signing = seed("operator-signing.nk", KeyKind.OPERATOR)
    system = seed("accounts/SYS.nk", KeyKind.ACCOUNT)
    app = seed("accounts/PRAKTOR.nk", KeyKind.ACCOUNT)
    app_signing = seed("accounts/PRAKTOR-signing.nk", KeyKind.ACCOUNT)
    if not (directory / "operator.jwt").exists():
        token = encode_jwt(
            signer=operator,
            subject=public_key(operator),
            name=OPERATOR_NAME,
            nats={
                "signing_keys": [public_key(operator_signing)],
                "system_account": public_key(system),
                "type": "operator",
            },
        )
        write_private(directory / "operator.jwt", token + "\n")
    if not (directory / "accounts" / "SYS.jwt").exists():
        token = encode_jwt(
            signer=operator_signing,
            subject=public_key(system),
            name=SYSTEM_ACCOUNT,
            nats={"limits": dict(_UNLIMITED), "type": "account"},
        )
        write_private(directory / "accounts" / "SYS.jwt", token + "\n")
    if not (directory / "accounts" / "PRAKTOR.jwt").exists():
        token = encode_jwt(
            signer=operator_signing,
            subject=public_key(app),
            name=APP_ACCOUNT,
            nats={"signing_keys": [public_key(app_signing)], "type": "account"},
        )
        # real claims are written by Authority._refresh_account_claims
        write_private(directory / "accounts" / "PRAKTOR.jwt", token + "\n")
    for path in directory.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
