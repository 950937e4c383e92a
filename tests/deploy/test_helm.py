"""The Helm chart: lints, renders valid Kubernetes objects, and keeps Praktor's rules.

Rendered with the real helm (v4, see tests/deploy/helm.py) and checked against
the Kubernetes schemas offline (kubernetes-validate); no cluster is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from praktor_common.cli.identities import (
    ORCHESTRATOR_AUTHORITY_FILES,
    SERVICE_CONTAINERS,
    helm_secrets,
    init_identities,
)
from praktor_common.config import PraktorConfig
from praktor_common.supervisor.services import installed_services
from praktor_model_proxy.service import ProxySettings
from praktor_orchestrator.settings import OrchestratorSettings
from tests.deploy.helm import CHART, HelmFailedError, render, run_helm
from tests.deploy.netpol import Pod, allowed

pytestmark = pytest.mark.integration

KUBERNETES_VERSION = "1.35.0"
EXTERNAL = Path(__file__).with_name("values-external.yaml")
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def default(helm: Path) -> list[Doc]:
    return render(helm)


@pytest.fixture(scope="module")
def external(helm: Path) -> list[Doc]:
    return render(helm, EXTERNAL)


@pytest.fixture(params=["default", "external"])
def rendered(request: pytest.FixtureRequest) -> list[Doc]:
    docs: list[Doc] = request.getfixturevalue(request.param)
    return docs


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def workloads(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    """(name, pod spec) of every Deployment, StatefulSet and Job."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def env_of(container: Doc) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def only_container(pod: Doc) -> Doc:
    (container,) = pod["containers"]
    return dict(container)


def deployment(docs: list[Doc], component: str) -> Doc:
    return of_kind(docs, "Deployment")[f"pk-praktor-{component}"]


def volume(pod: Doc, name: str) -> Doc:
    return next(v for v in pod["volumes"] if v["name"] == name)


# --- the chart as a whole --------------------------------------------------------------


@pytest.mark.parametrize("values", [(), (EXTERNAL,)], ids=["default", "external"])
def test_chart_lints_strictly(helm: Path, values: tuple[Path, ...]) -> None:
    args: list[str | Path] = ["lint", "--strict", CHART]
    for path in values:
        args += ["--values", path]
    assert "0 chart(s) failed" in run_helm(helm, *args)


def test_every_rendered_object_is_valid_kubernetes(rendered: list[Doc]) -> None:
    assert rendered
    for doc in rendered:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_chart_is_helm_v2_api(helm: Path) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "praktor"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("nats.enabled=false", "externalNats.url is required"),
        ("postgresql.enabled=false", "externalDatabase.url is required"),
    ],
)
def test_turning_off_a_bundled_server_without_a_url_says_what_is_missing(
    helm: Path, missing: str, message: str
) -> None:
    with pytest.raises(HelmFailedError, match=message):
        render(helm, sets=(missing,))


# --- services ------------------------------------------------------------------------------


def test_every_service_is_a_deployment_with_a_service(default: list[Doc]) -> None:
    assert set(SERVICE_CONTAINERS) == set(installed_services())
    deployments, services = of_kind(default, "Deployment"), of_kind(default, "Service")
    for name in SERVICE_CONTAINERS:
        container = only_container(deployment(default, name)["spec"]["template"]["spec"])
        assert container["args"] == ["service", name]
        assert f"pk-praktor-{name}" in services
    assert set(deployments) == {
        f"pk-praktor-{n}" for n in (*SERVICE_CONTAINERS, "config-publisher")
    }


def test_each_service_serves_health_on_its_port_and_is_probed(default: list[Doc]) -> None:
    for name, spec in installed_services().items():
        pod = deployment(default, name)["spec"]["template"]["spec"]
        container = only_container(pod)
        assert env_of(container)["PRAKTOR_HEALTH_PORT"] == str(spec.default_health_port)
        assert env_of(container)["PRAKTOR_HEALTH_HOST"] == "0.0.0.0"  # reachable by kubelet
        assert {"name": "health", "containerPort": spec.default_health_port} in container["ports"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        service = of_kind(default, "Service")[f"pk-praktor-{name}"]
        assert (
            service["spec"]["selector"]
            == deployment(default, name)["spec"]["selector"]["matchLabels"]
        )


def test_replicas_and_resources_come_from_values(external: list[Doc]) -> None:
    assert deployment(external, "router")["spec"]["replicas"] == 3
    web = deployment(external, "web")
    assert web["spec"]["replicas"] == 2
    assert only_container(web["spec"]["template"]["spec"])["resources"]["limits"] == {
        "memory": "1Gi"
    }
    assert "pk-praktor-swarm" not in of_kind(external, "Deployment")
    assert of_kind(external, "Service")["pk-praktor-web"]["spec"]["type"] == "LoadBalancer"


def test_every_pod_runs_non_root_read_only_without_capabilities(rendered: list[Doc]) -> None:
    for name, pod in workloads(rendered):
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert security["runAsUser"] != 0, name
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_each_service_mounts_only_its_own_creds(rendered: list[Doc]) -> None:
    for name, pod in workloads(rendered):
        container = only_container(pod)
        creds_volumes = [
            v
            for v in pod.get("volumes", [])
            if v.get("secret", {}).get("secretName") in ("praktor-nats-creds", "other-nats-creds")
        ]
        component = name.split("/", 1)[1].removeprefix("pk-praktor-")
        if component in SERVICE_CONTAINERS:
            identity = component
        elif component == "config-publisher" or component.startswith("bus-init"):
            identity = "cli-admin"
        else:
            assert not creds_volumes, name
            continue
        (creds,) = creds_volumes
        assert creds["secret"]["items"] == [{"key": f"{identity}.creds", "path": "nats.creds"}]
        mount = next(m for m in container["volumeMounts"] if m["name"] == creds["name"])
        assert mount["readOnly"] is True
        assert env_of(container)["PRAKTOR_NATS_CREDS"] == f"{mount['mountPath']}/nats.creds"


def test_only_the_orchestrator_gets_the_signing_keys_and_an_api_token(default: list[Doc]) -> None:
    for name, pod in workloads(default):
        secrets = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        if name == "Deployment/pk-praktor-orchestrator":
            assert "praktor-nats-authority" in secrets
            assert pod["automountServiceAccountToken"] is True
            assert pod["serviceAccountName"] == "pk-praktor-orchestrator"
        else:
            assert "praktor-nats-authority" not in secrets, name
            assert pod["automountServiceAccountToken"] is False, name
    orchestrator = deployment(default, "orchestrator")["spec"]["template"]["spec"]
    items = volume(orchestrator, "authority")["secret"]["items"]
    assert {i["path"] for i in items} == set(ORCHESTRATOR_AUTHORITY_FILES)
    assert all(Path(i["path"]).name == i["key"] for i in items)
    mount = next(
        m for m in only_container(orchestrator)["volumeMounts"] if m["name"] == "authority"
    )
    assert env_of(only_container(orchestrator))["PRAKTOR_NATS_AUTHORITY_DIR"] == mount["mountPath"]


def test_the_orchestrator_may_manage_pods_in_its_namespace_only(default: list[Doc]) -> None:
    (role,) = of_kind(default, "Role").values()
    assert not of_kind(default, "ClusterRole")
    pods = next(r for r in role["rules"] if r["resources"] == ["pods"])
    assert {"create", "delete", "list", "watch"} <= set(pods["verbs"])
    (binding,) = of_kind(default, "RoleBinding").values()
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pk-praktor-orchestrator", "namespace": "praktor"}
    ]


def test_web_and_vault_get_their_secret_files(default: list[Doc]) -> None:
    web = deployment(default, "web")["spec"]["template"]["spec"]
    assert volume(web, "web-password")["secret"]["secretName"] == "praktor-web"
    assert env_of(only_container(web))["PRAKTOR_WEB_PASSWORD_FILE"] == "/run/praktor/web/password"
    vault = deployment(default, "vault")["spec"]["template"]["spec"]
    assert volume(vault, "vault-passphrase")["secret"]["secretName"] == "praktor-vault"
    assert (
        env_of(only_container(vault))["PRAKTOR_VAULT_PASSPHRASE_FILE"]
        == "/run/praktor/vault/passphrase"
    )


# --- NATS and PostgreSQL -----------------------------------------------------------------


def test_bundled_nats_and_postgres_are_statefulsets_with_their_own_volume(
    default: list[Doc],
) -> None:
    sets = of_kind(default, "StatefulSet")
    nats, postgres = sets["pk-praktor-nats"], sets["pk-praktor-postgresql"]
    for statefulset in (nats, postgres):
        (claim,) = statefulset["spec"]["volumeClaimTemplates"]
        assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    nats_pod = nats["spec"]["template"]["spec"]
    assert only_container(nats_pod)["image"] == "praktor-nats:latest"
    assert volume(nats_pod, "config")["secret"] == {
        "secretName": "praktor-nats-server",
        "defaultMode": 0o440,
        "items": [{"key": "server.conf", "path": "server.conf"}],
    }
    mounts = {m["name"]: m["mountPath"] for m in only_container(nats_pod)["volumeMounts"]}
    assert mounts == {"config": "/etc/nats", "data": "/data"}  # server.conf: /data/jetstream
    pg_pod = postgres["spec"]["template"]["spec"]
    pg = only_container(pg_pod)
    assert pg["image"] == "praktor-postgres:latest"
    assert env_of(pg)["POSTGRES_PASSWORD_FILE"] == "/run/praktor/postgres/password"
    assert volume(pg_pod, "password")["secret"]["secretName"] == "praktor-postgres"
    router = only_container(deployment(default, "router")["spec"]["template"]["spec"])
    assert env_of(router)["PRAKTOR_NATS_URL"] == "nats://pk-praktor-nats:4222"
    assert (
        env_of(router)["PRAKTOR_DATABASE_URL"]
        == "postgresql://praktor@pk-praktor-postgresql:5432/praktor"
    )
    assert env_of(router)["PGPASSWORD"] == {
        "secretKeyRef": {"name": "praktor-postgres", "key": "password"}
    }


def test_external_nats_and_postgres_replace_the_bundled_ones(external: list[Doc]) -> None:
    assert not of_kind(external, "StatefulSet")
    assert not any("nats" in n or "postgresql" in n for n in of_kind(external, "Service"))
    for name, pod in workloads(external):
        env = env_of(only_container(pod))
        if "PRAKTOR_NATS_URL" in env:
            assert env["PRAKTOR_NATS_URL"] == "nats://nats.infra.svc:4222", name
        if "PRAKTOR_DATABASE_URL" in env:
            assert env["PRAKTOR_DATABASE_URL"] == (
                "postgresql://praktor_app@db.infra.svc:5432/praktor?sslmode=require"
            )
            assert env["PGPASSWORD"] == {
                "secretKeyRef": {"name": "db-credentials", "key": "db-password"}
            }


def test_images_and_pull_secrets_come_from_values(external: list[Doc]) -> None:
    for name, pod in workloads(external):
        assert only_container(pod)["image"] == "registry.example/praktor:1.2.3", name
        assert only_container(pod)["imagePullPolicy"] == "Always", name
        assert pod["imagePullSecrets"] == [{"name": "regcred"}], name


# --- jobs and config ----------------------------------------------------------------------


def test_migrate_and_bus_init_run_as_hooks_after_install_and_before_upgrades(
    default: list[Doc],
) -> None:
    jobs = of_kind(default, "Job")
    assert set(jobs) == {"pk-praktor-migrate", "pk-praktor-bus-init"}
    for job in jobs.values():
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "post-install,pre-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    assert only_container(jobs["pk-praktor-migrate"]["spec"]["template"]["spec"])["args"] == [
        "migrate"
    ]
    bus = only_container(jobs["pk-praktor-bus-init"]["spec"]["template"]["spec"])
    assert bus["args"] == ["bus", "init"]


def test_without_hooks_the_jobs_are_named_per_revision(external: list[Doc]) -> None:
    jobs = of_kind(external, "Job")
    assert set(jobs) == {"pk-praktor-migrate-1", "pk-praktor-bus-init-1"}
    assert all("annotations" not in job["metadata"] for job in jobs.values())


def test_the_config_is_a_configmap_directory_the_publisher_watches(external: list[Doc]) -> None:
    (configmap,) = of_kind(external, "ConfigMap").values()
    values = yaml.safe_load(EXTERNAL.read_text())
    assert yaml.safe_load(configmap["data"]["praktor.yaml"]) == values["config"]
    publisher = deployment(external, "config-publisher")
    pod = publisher["spec"]["template"]["spec"]
    container = only_container(pod)
    assert container["args"] == ["config", "publish", "--watch"]
    assert volume(pod, "config")["configMap"]["name"] == configmap["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert "subPath" not in mount  # a subPath mount is never updated by kubelet
    assert env_of(container)["PRAKTOR_CONFIG"] == f"{mount['mountPath']}/praktor.yaml"
    # a config change must not restart anything: no checksum annotation
    assert "annotations" not in publisher["spec"]["template"]["metadata"]
    assert env_of(container)["PRAKTOR_TELEGRAM_TOKEN"] == {
        "secretKeyRef": {"name": "telegram", "key": "token"}
    }


# --- the model proxy and the model credential ---------------------------------------------

MODEL_CREDENTIAL_ENV = {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}


def _secret_names(pod: Doc) -> set[str]:
    """The Secrets a pod mounts or reads env from."""
    names = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for container in pod["containers"]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
        names |= {e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e}
    return names


@pytest.mark.parametrize(
    ("docs", "secret"), [("default", "praktor-model"), ("external", "other-model")]
)
def test_only_the_model_proxy_holds_the_model_credential(
    request: pytest.FixtureRequest, docs: str, secret: str
) -> None:
    rendered: list[Doc] = request.getfixturevalue(docs)
    for name, pod in workloads(rendered):
        env = env_of(only_container(pod))
        if name == "Deployment/pk-praktor-model-proxy":
            assert env["ANTHROPIC_API_KEY"] == {
                "secretKeyRef": {"name": secret, "key": "api-key", "optional": True}
            }
            assert env["CLAUDE_CODE_OAUTH_TOKEN"] == {
                "secretKeyRef": {"name": secret, "key": "oauth-token", "optional": True}
            }
        else:
            assert not MODEL_CREDENTIAL_ENV & set(env), name
            assert secret not in _secret_names(pod), name
    (configmap,) = of_kind(rendered, "ConfigMap").values()
    assert "anthropic_api_key" not in configmap["data"]["praktor.yaml"]


def test_agents_are_pointed_at_the_model_proxy_which_listens_for_them(
    default: list[Doc], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = env_of(only_container(deployment(default, "model-proxy")["spec"]["template"]["spec"]))
    orchestrator = env_of(
        only_container(deployment(default, "orchestrator")["spec"]["template"]["spec"])
    )
    service = of_kind(default, "Service")["pk-praktor-model-proxy"]
    http = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    assert (
        orchestrator["PRAKTOR_MODEL_PROXY_URL"] == f"http://pk-praktor-model-proxy:{http['port']}"
    )
    assert http["port"] == PraktorConfig().model_proxy.port
    # the names are the ones the services read
    monkeypatch.setenv("PRAKTOR_MODEL_PROXY_URL", orchestrator["PRAKTOR_MODEL_PROXY_URL"])
    monkeypatch.setenv("PRAKTOR_MODEL_PROXY_HOST", proxy["PRAKTOR_MODEL_PROXY_HOST"])
    assert OrchestratorSettings().model_proxy_url == "http://pk-praktor-model-proxy:8091"
    assert ProxySettings().host == "0.0.0.0"


# --- network policies ---------------------------------------------------------------------


def _pod(docs: list[Doc], component: str) -> Pod:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet") and doc["metadata"]["name"] == (
            f"pk-praktor-{component}"
        ):
            template = doc["spec"]["template"]
            ports = {
                p["name"]: p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
            }
            return Pod(labels=template["metadata"]["labels"], ports=ports)
    raise KeyError(component)


def _job_pod(docs: list[Doc], component: str) -> Pod:
    (job,) = (d for d in docs if d["kind"] == "Job" and component in d["metadata"]["name"])
    return Pod(labels=job["spec"]["template"]["metadata"]["labels"])


def test_agents_reach_nats_and_model_proxy_but_no_database_or_service(default: list[Doc]) -> None:
    policies = list(of_kind(default, "NetworkPolicy").values())
    agent = Pod(labels={"praktor.io/role": "agent"})
    nats, proxy = _pod(default, "nats"), _pod(default, "model-proxy")
    postgres = _pod(default, "postgresql")
    assert allowed(policies, agent, nats, 4222)
    assert allowed(policies, agent, proxy, 8091)
    assert not allowed(policies, agent, postgres, 5432)
    assert not allowed(policies, agent, proxy, 9107)  # its metrics
    for name in SERVICE_CONTAINERS:
        service = _pod(default, name)
        for port in service.ports.values():
            if (name, port) != ("model-proxy", 8091):
                assert not allowed(policies, agent, service, port), (name, port)
    assert not allowed(policies, agent, Pod(labels={"praktor.io/role": "agent"}), 8080)


@pytest.mark.parametrize("docs", ["default", "external"])
def test_nothing_but_agents_reaches_the_model_proxy(
    request: pytest.FixtureRequest, docs: str
) -> None:
    rendered: list[Doc] = request.getfixturevalue(docs)
    policies = list(of_kind(rendered, "NetworkPolicy").values())
    proxy = _pod(rendered, "model-proxy")
    port = proxy.ports["http"]
    agent_labels = (
        {"praktor.io/role": "agent"} if docs == "default" else {"example.org/praktor-agent": "yes"}
    )
    assert allowed(policies, Pod(labels=agent_labels), proxy, port)
    running = of_kind(rendered, "Deployment")
    others = [
        _pod(rendered, name)
        for name in (*SERVICE_CONTAINERS, "config-publisher")
        if f"pk-praktor-{name}" in running and name != "model-proxy"
    ]
    others += [
        Pod(labels={"app": "curl"}),
        Pod(labels={"app": "ingress"}, namespace="ingress-nginx"),
        Pod(labels={}, namespace="monitoring"),
    ]
    for other in others:
        assert not allowed(policies, other, proxy, port), other.labels


def test_services_and_jobs_reach_nats_and_postgres(default: list[Doc]) -> None:
    policies = list(of_kind(default, "NetworkPolicy").values())
    nats, postgres = _pod(default, "nats"), _pod(default, "postgresql")
    for name in SERVICE_CONTAINERS:
        assert allowed(policies, _pod(default, name), nats, 4222), name
        assert allowed(policies, _pod(default, name), postgres, 5432), name
    assert allowed(policies, _pod(default, "config-publisher"), nats, 4222)
    assert not allowed(policies, _pod(default, "config-publisher"), postgres, 5432)
    assert allowed(policies, _job_pod(default, "migrate"), postgres, 5432)
    assert allowed(policies, _job_pod(default, "bus-init"), nats, 4222)
    stranger = Pod(labels={"app": "something-else"})
    assert not allowed(policies, stranger, postgres, 5432)
    assert not allowed(policies, stranger, nats, 4222)


def test_mission_control_is_reachable_from_outside_but_metrics_are_not(
    default: list[Doc],
) -> None:
    policies = list(of_kind(default, "NetworkPolicy").values())
    web = _pod(default, "web")
    ingress_controller = Pod(labels={"app": "ingress"}, namespace="ingress-nginx")
    assert allowed(policies, ingress_controller, web, 8080)
    assert allowed(policies, Pod(labels={"app": "curl"}), web, 8080)
    assert not allowed(policies, ingress_controller, web, 9108)


def test_network_policy_knobs(external: list[Doc]) -> None:
    policies = list(of_kind(external, "NetworkPolicy").values())
    agent = Pod(labels={"example.org/praktor-agent": "yes"})
    web, proxy = _pod(external, "web"), _pod(external, "model-proxy")
    assert allowed(policies, agent, proxy, 8091)
    assert not allowed(policies, agent, web, 8080)
    assert allowed(policies, Pod(labels={}, namespace="ingress-nginx"), web, 8080)
    assert not allowed(policies, Pod(labels={}, namespace="elsewhere"), web, 8080)
    prometheus = Pod(labels={}, namespace="monitoring")
    assert allowed(policies, prometheus, web, 9108)
    (agents,) = (p for p in policies if p["metadata"]["name"] == "pk-praktor-agents")
    blocks = [
        peer["ipBlock"]
        for rule in agents["spec"]["egress"]
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    ]
    assert {"cidr": "10.20.0.5/32"} in blocks  # the external NATS
    internet = next(b for b in blocks if b["cidr"] == "0.0.0.0/0")
    assert "10.0.0.0/8" in internet["except"]


# --- the Secrets: what the chart reads is what `identities export --for helm` writes --------


def _secret_refs(docs: list[Doc]) -> set[tuple[str, str]]:
    refs: set[tuple[str, str]] = set()
    for _, pod in workloads(docs):
        for vol in pod.get("volumes", []):
            if "secret" in vol:
                refs |= {(vol["secret"]["secretName"], i["key"]) for i in vol["secret"]["items"]}
        for container in pod["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"]))
    return refs


def test_every_secret_key_the_chart_reads_is_exported(default: list[Doc], tmp_path: Path) -> None:
    directory = init_identities(tmp_path / "ids").directory
    exported = {(s["metadata"]["name"], key) for s in helm_secrets(directory) for key in s["data"]}
    # but the model credential, which the person creates (README, NOTES.txt)
    refs = {ref for ref in _secret_refs(default) if ref[0] != "praktor-model"}
    assert refs <= exported, refs - exported
    # and nothing exported goes unused (sys-admin.creds is not exported at all)
    assert {name for name, _ in exported} == {name for name, _ in refs}
