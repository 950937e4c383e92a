"""Which connections a set of NetworkPolicies allows (the Kubernetes semantics we use).

A pod selected by no policy of a direction is open in that direction; once
selected, only what some rule of a selecting policy allows gets through, and a
connection needs both the source's egress and the destination's ingress.
Pods are in the release's namespace unless a peer says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Pod:
    labels: Labels
    ports: Mapping[str, int] = field(default_factory=dict)  # named container ports
    namespace: str = "praktor"


def selects(selector: Mapping[str, Any] | None, labels: Labels) -> bool:
    """A label selector (matchLabels and matchExpressions); empty selects everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: Mapping[str, Any], pod: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        return False  # pod-to-pod traffic is never matched by an ipBlock here
    if "namespaceSelector" in peer:
        namespace = {"kubernetes.io/metadata.name": pod.namespace}
        if not selects(peer["namespaceSelector"], namespace):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), pod.labels)


def _port_matches(rule: Mapping[str, Any], destination: Pod, port: int) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        wanted = entry.get("port")
        if wanted is None or wanted == port:
            return True
        if isinstance(wanted, str) and destination.ports.get(wanted) == port:
            return True
    return False


def _rules_allow(
    rules: Iterable[Mapping[str, Any]],
    peers_key: str,
    peer: Pod,
    destination: Pod,
    port: int,
    policy_namespace: str,
) -> bool:
    for rule in rules:
        peers = rule.get(peers_key)
        peer_ok = not peers or any(_peer_matches(p, peer, policy_namespace) for p in peers)
        if peer_ok and _port_matches(rule, destination, port):
            return True
    return False


def _policy_types(policy: Mapping[str, Any]) -> list[str]:
    spec = policy["spec"]
    return list(spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])])


def allowed(
    policies: Iterable[Mapping[str, Any]], source: Pod, destination: Pod, port: int
) -> bool:
    """Whether ``source`` may open a TCP connection to ``destination:port``."""
    policies = list(policies)
    egress = [
        p
        for p in policies
        if "Egress" in _policy_types(p)
        and p["metadata"].get("namespace", source.namespace) == source.namespace
        and selects(p["spec"]["podSelector"], source.labels)
    ]
    if egress and not any(
        _rules_allow(
            p["spec"].get("egress") or [], "to", destination, destination, port, source.namespace
        )
        for p in egress
    ):
        return False
    ingress = [
        p
        for p in policies
        if "Ingress" in _policy_types(p)
        and p["metadata"].get("namespace", destination.namespace) == destination.namespace
        and selects(p["spec"]["podSelector"], destination.labels)
    ]
    return not ingress or any(
        _rules_allow(
            p["spec"].get("ingress") or [], "from", source, destination, port, destination.namespace
        )
        for p in ingress
    )
