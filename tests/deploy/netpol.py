"""Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), for computing
which connections a set of rendered policies allows.

The rules implemented, from the API reference:
- A pod is isolated for ingress (egress) if any NetworkPolicy in its
  namespace selects it (spec.podSelector) and has Ingress (Egress) among its
  policyTypes. policyTypes, when absent, is [Ingress] plus Egress if the
  policy has an egress section. A pod that is not isolated allows everything
  in that direction.
- A connection from A to B on (port, protocol) is allowed iff A's egress
  allows it AND B's ingress allows it. Policies are additive: one rule of
  one selecting policy suffices.
- A rule with no (or an empty) from/to matches every peer; with no (or
  empty) ports, every port.
- A peer: podSelector alone = pods of the policy's namespace; namespaceSelector
  alone = every pod of the matching namespaces; both = matching pods in
  matching namespaces; ipBlock = addresses in cidr and not in except. An
  empty selector matches everything.
- A port: number (with optional endPort) or name, resolved against the
  container ports of the destination pod; protocol defaults to TCP.
Endpoints outside the cluster (and pods in namespaces without policies) are
not isolated.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass
class Endpoint:
    """A pod (namespace set) or an address outside the cluster (namespace None)."""

    id: str
    ip: str
    namespace: str | None = None
    labels: dict = field(default_factory=dict)
    ports: list[Port] = field(default_factory=list)
    role: str = ""          # what the test calls it (a service, "gateway", "ext:redis", ...)

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def selector_matches(selector: dict | None, labels: dict) -> bool:
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {op}")
    return True


class Cluster:
    def __init__(self, policies: list[dict], endpoints: list[Endpoint],
                 namespace_labels: dict[str, dict], default_namespace: str):
        self.endpoints = endpoints
        self.namespace_labels = namespace_labels
        self.policies = []
        for policy in policies:
            assert policy["kind"] == "NetworkPolicy" and policy["apiVersion"] == "networking.k8s.io/v1"
            ns = policy["metadata"].get("namespace") or default_namespace
            self.policies.append((ns, policy["spec"]))

    @staticmethod
    def _types(spec: dict) -> list[str]:
        if "policyTypes" in spec:
            return spec["policyTypes"]
        return ["Ingress"] + (["Egress"] if "egress" in spec else [])

    def _selecting(self, ep: Endpoint, direction: str) -> list[tuple[str, dict]]:
        if not ep.is_pod:
            return []
        return [(ns, spec) for ns, spec in self.policies
                if ns == ep.namespace and direction in self._types(spec)
                and selector_matches(spec.get("podSelector", {}), ep.labels)]

    def _peer_matches(self, peer: dict, policy_ns: str, ep: Endpoint) -> bool:
        if "ipBlock" in peer:
            block = peer["ipBlock"]
            address = ipaddress.ip_address(ep.ip)
            if address not in ipaddress.ip_network(block["cidr"], strict=False):
                return False
            return not any(address in ipaddress.ip_network(e, strict=False) for e in block.get("except", []))
        if not ep.is_pod:
            return False
        if "namespaceSelector" in peer:
            if not selector_matches(peer["namespaceSelector"], self.namespace_labels[ep.namespace]):
                return False
        elif ep.namespace != policy_ns:
            return False
        if "podSelector" in peer:
            return selector_matches(peer["podSelector"], ep.labels)
        return True

    @staticmethod
    def _port_matches(rule_ports: list[dict] | None, dst: Endpoint, port: Port) -> bool:
        if not rule_ports:
            return True
        for rp in rule_ports:
            if rp.get("protocol", "TCP") != port.protocol:
                continue
            if "port" not in rp:
                return True
            value = rp["port"]
            if isinstance(value, int):
                if value == port.number or (rp.get("endPort") and value <= port.number <= rp["endPort"]):
                    return True
            else:
                # A named port means the destination pod's container port of that name.
                if any(p.name == value and p.protocol == port.protocol and p.number == port.number
                       for p in dst.ports if dst.is_pod):
                    return True
        return False

    def _direction_allows(self, subject: Endpoint, other: Endpoint, dst: Endpoint, port: Port,
                          direction: str) -> bool:
        selecting = self._selecting(subject, direction)
        if not selecting:
            return True
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for ns, spec in selecting:
            for rule in spec.get(rules_key) or []:
                peers = rule.get(peers_key) or []
                if peers and not any(self._peer_matches(p, ns, other) for p in peers):
                    continue
                if self._port_matches(rule.get("ports"), dst, port):
                    return True
        return False

    def allows(self, src: Endpoint, dst: Endpoint, port: Port) -> bool:
        return (self._direction_allows(src, dst, dst, port, "Egress")
                and self._direction_allows(dst, src, dst, port, "Ingress"))
