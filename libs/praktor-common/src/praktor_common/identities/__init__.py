"""NATS identities: operator, accounts, per-service and per-agent users (operator mode).

See :mod:`.authority` (trust root, server config, creds files),
:mod:`.permissions` (who may do what) and :mod:`.issuer` (agent credentials at
runtime: mint, revoke, push to the server).
"""

from praktor_common.identities.authority import (
    APP_ACCOUNT,
    MAX_AGENT_CREDENTIAL_LIFETIME,
    SYSTEM_ACCOUNT,
    Authority,
    AuthorityError,
)
from praktor_common.identities.credentials import Credentials
from praktor_common.identities.issuer import (
    AccountUpdateError,
    AgentCredentialIssuer,
    connect_system,
    lookup_account_jwt,
    push_account_jwt,
    revoke_and_push,
)
from praktor_common.identities.permissions import (
    ADMIN_IDENTITY,
    SERVICE_PERMISSIONS,
    SERVICES,
    SYSTEM_IDENTITY,
    Permissions,
    agent_identity,
    agent_permissions,
    inbox_prefix,
    service_permissions,
)

__all__ = [
    "ADMIN_IDENTITY",
    "APP_ACCOUNT",
    "MAX_AGENT_CREDENTIAL_LIFETIME",
    "SERVICES",
    "SERVICE_PERMISSIONS",
    "SYSTEM_ACCOUNT",
    "SYSTEM_IDENTITY",
    "AccountUpdateError",
    "AgentCredentialIssuer",
    "Authority",
    "AuthorityError",
    "Credentials",
    "Permissions",
    "agent_identity",
    "agent_permissions",
    "connect_system",
    "inbox_prefix",
    "lookup_account_jwt",
    "push_account_jwt",
    "revoke_and_push",
    "service_permissions",
]
