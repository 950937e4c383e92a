"""deploy/compose/compose.yaml: hardened containers, each with only its own credentials."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from praktor_common.cli.identities import SERVICE_CONTAINERS, compose_layout, init_identities
from praktor_common.config import PraktorConfig
from praktor_common.identities import ADMIN_IDENTITY
from praktor_common.supervisor.services import installed_services
from praktor_model_proxy.service import ProxySettings
from praktor_orchestrator.settings import OrchestratorSettings

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "compose"
ONE_SHOT = ("init", "migrate", "bus-init")
LONG_RUNNING = ("nats", "postgres", "config-publisher", *SERVICE_CONTAINERS)
# every image from a variable with a default: ${PRAKTOR_IMAGE:-praktor:latest}
IMAGE = re.compile(r"^\$\{PRAKTOR_[A-Z_]*IMAGE:-[a-z0-9./-]+:[a-z0-9.-]+\}$")
SECRET_NAME = re.compile(r"PASSWORD|PASSPHRASE|TOKEN|API_KEY|SECRET", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def volumes_of(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read-only) of each short-syntax volume."""
    mounts = []
    for entry in service.get("volumes", []):
        # split on colons outside ${...}
        source, target, *options = re.findall(r"(?:\$\{[^}]*\}|[^:])+", entry)
        mounts.append((source, target, "ro" in options))
    return mounts


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment: dict[str, Any] = service.get("environment", {})
    assert isinstance(environment, dict), "environment is written as a mapping"
    return {k: str(v) for k, v in environment.items()}


def test_the_file_has_exactly_the_expected_services(services: dict[str, Any]) -> None:
    assert set(services) == {*ONE_SHOT, *LONG_RUNNING}
    assert set(SERVICE_CONTAINERS) == set(installed_services())


def test_every_image_comes_from_a_variable_with_a_default(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert IMAGE.match(service["image"]), (name, service["image"])
    praktor = {n for n, s in services.items() if s["image"].startswith("${PRAKTOR_IMAGE:-")}
    assert praktor == {*ONE_SHOT, "config-publisher", *SERVICE_CONTAINERS}


def test_images_are_built_from_this_repository(services: dict[str, Any]) -> None:
    built = {n: s["build"] for n, s in services.items() if "build" in s}
    assert set(built) == {"init", "nats", "postgres"}
    for name, build in built.items():
        dockerfile = (COMPOSE_DIR / build["context"] / build["dockerfile"]).resolve()
        assert dockerfile.is_file(), name
        assert "BASE_IMAGE" in build["args"], name


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_are_hardened_and_health_checked(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    assert service["restart"] == "unless-stopped"
    assert service["read_only"] is True
    assert "/tmp" in service["tmpfs"]
    assert service["cap_drop"] == ["ALL"]
    assert "cap_add" not in service
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["user"] == "10001:10001"
    assert "privileged" not in service
    assert service["healthcheck"]["test"][0] == "CMD"


@pytest.mark.parametrize("name", SERVICE_CONTAINERS)
def test_services_are_healthy_when_their_readyz_answers_on_their_port(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    check = " ".join(service["healthcheck"]["test"])
    assert "/readyz" in check
    assert "PRAKTOR_HEALTH_PORT" in check
    assert env_of(service)["PRAKTOR_HEALTH_PORT"] == str(
        installed_services()[name].default_health_port
    )
    assert service["command"] == ["service", name]


@pytest.mark.parametrize("name", ONE_SHOT)
def test_one_shot_steps_run_once_and_are_hardened_too(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert service["restart"] == "no"
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    if name == "init":  # root only to chown, with just what that needs, offline
        assert set(service["cap_add"]) == {"CHOWN", "DAC_OVERRIDE", "FOWNER"}
        assert service["network_mode"] == "none"
    else:
        assert service["user"] == "10001:10001"


def test_init_writes_one_volume_per_container_as_identities_export_lays_them_out(
    services: dict[str, Any], tmp_path: Path
) -> None:
    init = services["init"]
    command = " ".join(init["command"])
    assert "praktor identities init /identities" in command
    assert "--store-dir /data/jetstream" in command
    assert "praktor identities export /identities --for compose --out /export" in command
    assert "--owner 10001:10001" in command
    exported = {target.removeprefix("/export/"): source for source, target, _ in volumes_of(init)}
    assert exported.pop("/identities") == "identities"
    layout = compose_layout(init_identities(tmp_path / "ids").directory)
    assert set(exported) == set(layout)


def _mounted_by(services: dict[str, Any]) -> dict[str, set[str]]:
    users: dict[str, set[str]] = {}
    for name, service in services.items():
        for source, _, _ in volumes_of(service):
            users.setdefault(source, set()).add(name)
    return users


def test_each_container_mounts_only_its_own_credentials(services: dict[str, Any]) -> None:
    users = _mounted_by(services)
    assert users["identities"] == {"init"}  # the trust root never leaves init
    expected = {
        "nats-config": {"nats"},
        "postgres-secrets": {"postgres"},
        "migrate-secrets": {"migrate"},
        f"{ADMIN_IDENTITY}-secrets": {"bus-init", "config-publisher"},
    } | {f"{s}-secrets": {s} for s in SERVICE_CONTAINERS}
    for volume, containers in expected.items():
        assert users[volume] == {"init", *containers}, volume
    for name, service in services.items():
        if name == "init":
            continue
        for source, _, read_only in volumes_of(service):
            if source.endswith("-secrets") or source == "nats-config":
                assert read_only, (name, source)


@pytest.mark.parametrize("name", SERVICE_CONTAINERS)
def test_a_service_finds_its_creds_and_database_password_in_its_own_volume(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    mounts = {target: source for source, target, _ in volumes_of(service)}
    assert mounts["/run/praktor"] == f"{name}-secrets"
    env = env_of(service)
    assert env["PRAKTOR_NATS_CREDS"] == "/run/praktor/nats.creds"
    assert env["PRAKTOR_NATS_URL"] == "nats://nats:4222"
    assert env["PGPASSFILE"] == "/run/praktor/pgpass"
    assert env["PRAKTOR_DATABASE_URL"] == "postgresql://praktor@postgres:5432/praktor"


def test_no_secret_is_written_in_the_file(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key, value in env_of(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert re.fullmatch(r"\$\{[A-Z_]+:-\}", value), (name, key, value)
        for key in ("PRAKTOR_DATABASE_URL",):
            if key in env_of(service):
                assert ":" not in env_of(service)[key].split("@")[0].removeprefix(
                    "postgresql://"
                ), name


def test_web_and_vault_read_their_generated_secret_files(services: dict[str, Any]) -> None:
    assert env_of(services["web"])["PRAKTOR_WEB_PASSWORD_FILE"] == "/run/praktor/web-password"
    assert (
        env_of(services["vault"])["PRAKTOR_VAULT_PASSPHRASE_FILE"]
        == "/run/praktor/vault-passphrase"
    )
    assert env_of(services["postgres"])["POSTGRES_PASSWORD_FILE"] == "/run/praktor/password"


def test_only_the_orchestrator_reaches_the_container_engine(services: dict[str, Any]) -> None:
    for name, service in services.items():
        sockets = [t for _, t, _ in volumes_of(service) if t.endswith(".sock")]
        assert sockets == (["/var/run/docker.sock"] if name == "orchestrator" else []), name
    orchestrator = env_of(services["orchestrator"])
    assert orchestrator["PRAKTOR_NATS_AUTHORITY_DIR"] == "/run/praktor/authority"
    assert orchestrator["PRAKTOR_AGENT_NETWORK"] == "praktor-agents"


def test_agents_network_holds_only_nats_and_model_proxy(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    agents = compose["networks"]["agents"]
    assert agents["name"] == "praktor-agents"
    assert agents["internal"] is False  # agents may use the internet (ARCHITECTURE §6)
    on_agents = {n for n, s in services.items() if "agents" in s.get("networks", [])}
    assert on_agents == {"nats", "model-proxy"}
    assert services["postgres"]["networks"] == ["services"]
    override = yaml.safe_load((COMPOSE_DIR / "compose.agents-offline.yaml").read_text())
    assert override == {"networks": {"agents": {"internal": True}}}


MODEL_CREDENTIAL_ENV = {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}


def test_only_the_model_proxy_holds_the_model_credential(services: dict[str, Any]) -> None:
    for name, service in services.items():
        held = MODEL_CREDENTIAL_ENV & set(env_of(service))
        assert held == (MODEL_CREDENTIAL_ENV if name == "model-proxy" else set()), name
    proxy = env_of(services["model-proxy"])
    assert proxy["ANTHROPIC_API_KEY"] == "${ANTHROPIC_API_KEY:-}"  # from .env
    assert proxy["CLAUDE_CODE_OAUTH_TOKEN"] == "${CLAUDE_CODE_OAUTH_TOKEN:-}"


def test_agents_reach_the_model_proxy_by_name_and_nothing_publishes_it(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, orchestrator = services["model-proxy"], services["orchestrator"]
    assert "ports" not in proxy
    assert "agents" in proxy["networks"]
    port = PraktorConfig().model_proxy.port
    assert env_of(orchestrator)["PRAKTOR_MODEL_PROXY_URL"] == f"http://model-proxy:{port}"
    # the names are the ones the services read: set each container's env, then read it back
    with monkeypatch.context() as env:
        for key, value in env_of(proxy).items():
            env.setenv(key, value)
        assert ProxySettings().host == "0.0.0.0"
    with monkeypatch.context() as env:
        for key, value in env_of(orchestrator).items():
            env.setenv(key, value)
        assert OrchestratorSettings().model_proxy_url == f"http://model-proxy:{port}"


def test_start_order(services: dict[str, Any]) -> None:
    def waits_for(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services[name]["depends_on"].items()}

    assert waits_for("nats") == {"init": "service_completed_successfully"}
    assert waits_for("postgres") == {"init": "service_completed_successfully"}
    assert waits_for("migrate") == {
        "init": "service_completed_successfully",
        "postgres": "service_healthy",
    }
    assert waits_for("bus-init") == {"nats": "service_healthy"}
    for name in SERVICE_CONTAINERS:
        assert waits_for(name) == {
            "migrate": "service_completed_successfully",
            "bus-init": "service_completed_successfully",
            "config-publisher": "service_started",
        }


def test_the_config_publisher_watches_a_mounted_directory(services: dict[str, Any]) -> None:
    publisher = services["config-publisher"]
    assert publisher["command"] == ["config", "publish", "--watch"]
    mounts = {target: source for source, target, _ in volumes_of(publisher)}
    config = env_of(publisher)["PRAKTOR_CONFIG"]
    assert mounts[str(Path(config).parent)] == "${PRAKTOR_CONFIG_DIR:-./config}"
    assert mounts["/run/praktor"] == f"{ADMIN_IDENTITY}-secrets"


def test_mission_control_is_published_on_loopback_by_default(services: dict[str, Any]) -> None:
    assert services["web"]["ports"] == [
        "${PRAKTOR_WEB_BIND:-127.0.0.1}:${PRAKTOR_WEB_HOST_PORT:-8080}:8080"
    ]
    assert all("ports" not in s for n, s in services.items() if n != "web")


def test_readme_and_env_example_cover_every_variable(compose: dict[str, Any]) -> None:
    text = yaml.safe_dump(compose)  # values only, not comments
    variables = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert "PRAKTOR_IMAGE" in variables
    example = (COMPOSE_DIR / ".env.example").read_text()
    assert {v for v in variables if v not in example} == set()
    readme = (COMPOSE_DIR / "README.md").read_text()
    for topic in ("docker compose up", "praktor identities init", "config/praktor.yaml"):
        assert topic in readme
