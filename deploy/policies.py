"""NetworkPolicies of the kustomize base (`deploy/generate.py` writes them to deploy/base/network-policies.yaml).

Default deny for ingress in the namespace, then exactly what the code says may talk:

- a service's gRPC port from the services that call it, which is the union of
  `crm_platform.service_calls.SERVICE_CALLS` (read with `ast`: who uses a service token on whom) and
  the services whose settings name the callee's address (`<SVC>_GRPC_ADDR` in their `config.py`:
  the calls they make with a user's token), and from the gateway for each address
  `crm_gateway.config` declares. Identity and billing therefore take gRPC only from the gateway and
  their listed callers; a service nobody dials takes none.
- Kafka (pods labelled `app.kubernetes.io/name: kafka`, when the cluster runs it in the namespace)
  from the service pods only: every one of them produces or consumes (its relay, its consumers, and
  the `topics` init container of each pod); the gateway uses no topic.
- PostgreSQL (`app.kubernetes.io/name: postgres`) from the service pods (each reaches its own
  database, with its own role); Redis (`app.kubernetes.io/name: redis`) from the gateway (REDIS_URL).
- the health/metrics port (`http`, 8081) of every service pod from the monitoring namespace
  (Prometheus scrapes /metrics); the kubelet's probes come from the node, which CNIs allow to reach
  its pods (an overlay adds an `ipBlock` for the node network where a CNI does not).
- the gateway's HTTP port from the ingress controller's namespace (and monitoring).

Standard library only, like the generator.
"""

from __future__ import annotations

import ast
import pathlib

PART_OF = {"app.kubernetes.io/part-of": "crm"}
SERVICE_LABEL = "crm.example.com/service"
MONITORING_NAMESPACE = "monitoring"       # where Prometheus runs (an overlay changes it)
INGRESS_NAMESPACE = "ingress-nginx"       # the ingress controller in front of the gateway
KAFKA_PORT, POSTGRES_PORT, REDIS_PORT = 9092, 5432, 6379


def service_calls(path: pathlib.Path) -> dict[str, set[str]]:
    """callee -> its callers in `SERVICE_CALLS` (crm_platform/service_calls.py), read without importing."""
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (node.targets[0] if isinstance(
            node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == "SERVICE_CALLS" and isinstance(node.value, ast.Dict):
            out = {}
            for callee, callers in zip(node.value.keys, node.value.values):
                if not isinstance(callee, ast.Constant) or not isinstance(callers, ast.Dict):
                    raise ValueError(f"{path}: SERVICE_CALLS is not a literal dict of dicts")
                out[callee.value] = {k.value for k in callers.keys if isinstance(k, ast.Constant)}
            return out
    raise ValueError(f"{path}: no SERVICE_CALLS")


def grpc_callers(services: list, allowlist: dict[str, set[str]], gateway_settings) -> dict[str, set[str]]:
    """callee service -> the services (and `gateway`) that may reach its gRPC port."""
    names = {s.name for s in services}
    unknown = {c for callee, callers in allowlist.items() for c in {callee, *callers}} - names
    if unknown:
        raise SystemExit(f"deploy/policies.py: SERVICE_CALLS names services the code does not have: {sorted(unknown)}")
    callers: dict[str, set[str]] = {s.name: set(allowlist.get(s.name, ())) for s in services if "api" in s.roles}
    for svc in services:  # the addresses a service is configured with are the ones it dials
        for s in svc.settings:
            callee = s.env.removesuffix("_GRPC_ADDR").lower()
            if s.env.endswith("_GRPC_ADDR") and callee in callers and callee != svc.name:
                callers[callee].add(svc.name)
    for s in gateway_settings:
        callee = s.env.removesuffix("_GRPC_ADDR").lower()
        if s.env.endswith("_GRPC_ADDR") and callee in callers:
            callers[callee].add("gateway")
    return callers


def _pods(service_names) -> dict:
    return {"matchExpressions": [{"key": SERVICE_LABEL, "operator": "In", "values": sorted(service_names)}]}


def _namespace(name: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _policy(name: str, pod_selector: dict, rules: list[dict]) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": dict(PART_OF)},
            "spec": {"podSelector": pod_selector, "policyTypes": ["Ingress"], "ingress": rules}}


def network_policies(services: list, callers: dict[str, set[str]], grpc_port: int, health_port: int,
                     gateway_port: int) -> list[dict]:
    service_names = [s.name for s in services]
    out = [_policy("default-deny-ingress", {}, [])]
    for callee, who in sorted(callers.items()):
        rule = {"ports": [{"protocol": "TCP", "port": grpc_port}],
                "from": [{"podSelector": _pods(who)}]} if who else None
        out.append(_policy(f"{callee}-api-grpc", {"matchLabels": {"app.kubernetes.io/name": f"{callee}-api"}},
                           [rule] if rule else []))
    out.append(_policy("services-health", _pods(service_names),
                       [{"ports": [{"protocol": "TCP", "port": health_port}],
                         "from": [_namespace(MONITORING_NAMESPACE)]}]))
    out.append(_policy("gateway-http", {"matchLabels": {"app.kubernetes.io/name": "gateway"}},
                       [{"ports": [{"protocol": "TCP", "port": gateway_port}],
                         "from": [_namespace(INGRESS_NAMESPACE), _namespace(MONITORING_NAMESPACE)]}]))
    kafka_users = [*service_names, "kafka-admin"]  # and the Jobs making the users and ACLs (deploy/broker.py)
    for name, port, users in (("kafka", KAFKA_PORT, kafka_users), ("postgres", POSTGRES_PORT, service_names),
                              ("redis", REDIS_PORT, ["gateway"])):
        out.append(_policy(name, {"matchLabels": {"app.kubernetes.io/name": name}},
                           [{"ports": [{"protocol": "TCP", "port": port}], "from": [{"podSelector": _pods(users)}]}]))
    return out
