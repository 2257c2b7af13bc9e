"""The kustomize base's workloads and configuration (`deploy/generate.py`)."""

from __future__ import annotations

# Loaded by deploy/generate.py (`_sibling`) under the name crm_deploy_<file>: deploy/ is not on sys.path, so
# its modules import each other by those names, after generate.py has loaded them in order.
from crm_deploy_model import (  # noqa: E402
    GATEWAY_PORT, GRPC_PORT, HEALTH_PORT, IMAGE, K8S_KEYS_DIR, K8S_TLS_DIR, PARTITIONS, SECRETS,
    Service, TOPICS_COMMAND, process_secrets, secret_of, tls_certs, tls_env, tls_secret,
    verifies_tokens)

# ---------------------------------------------------------------------------------------------
# kubernetes (kustomize base)
# ---------------------------------------------------------------------------------------------

SIZES = {  # role -> (requests, limits, max replicas)
    "api": ({"cpu": "100m", "memory": "192Mi"}, {"cpu": "1", "memory": "512Mi"}, 10),
    "consumer": ({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "384Mi"}, PARTITIONS),
    "relay": ({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "256Mi"}, 3),
    "gateway": ({"cpu": "100m", "memory": "256Mi"}, {"cpu": "1", "memory": "512Mi"}, 10),
    # Other workers (identity's mailer, ...): one replica until the worker is known to claim its rows
    # (identity's mailer selects unsent mails without a lock: two replicas could send a mail twice), and
    # updated with `strategy: Recreate` (workload()) so a rollout never runs the old and new pod together.
    "other": ({"cpu": "50m", "memory": "128Mi"}, {"cpu": "500m", "memory": "256Mi"}, 1),
}


def _labels(name: str, svc: str, role: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "crm",
            "app.kubernetes.io/component": role, "crm.example.com/service": svc}


def _exec_probe(url: str, **timing) -> dict:
    return {"exec": {"command": ["python", "/app/deploy/probe.py", "http", url]}, "timeoutSeconds": 5, **timing}


def _http_probe(path: str, port: str, **timing) -> dict:
    return {"httpGet": {"path": path, "port": port}, "timeoutSeconds": 3, **timing}


# Liveness (/healthz) is the process and its threads only, never a dependency (crm_platform.health): a
# dead relay or consumer thread restarts its pod within ~30 s, a database outage only takes pods out of
# their Service (readiness) until it ends.
TIMING = {"startup": {"periodSeconds": 2, "failureThreshold": 90},
          "readiness": {"periodSeconds": 10, "failureThreshold": 3},
          "liveness": {"periodSeconds": 10, "failureThreshold": 3}}


def _probes(kind: str, port: int, ready_path: str = "/readyz") -> dict:
    """startup/readiness/liveness probes: native HTTP, or exec for a loopback-only port."""
    out = {}
    for probe, path in (("startup", "/healthz"), ("readiness", ready_path), ("liveness", "/healthz")):
        if kind == "http":
            out[f"{probe}Probe"] = _http_probe(path, "http", **TIMING[probe])
        else:
            out[f"{probe}Probe"] = _exec_probe(f"http://127.0.0.1:{port}{path}", **TIMING[probe])
    return out


LOCKED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
          "capabilities": {"drop": ["ALL"]}}
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"}}


def workload(name: str, svc: str, role: str, command: list[str], env: list[dict], ports: list[dict],
             probes: dict, size: str, init: list[dict] = (), tls_name: str = "",
             public_keys: list[str] = ()) -> list[dict]:
    """ServiceAccount, Deployment, Service, HorizontalPodAutoscaler and PodDisruptionBudget of one process type."""
    labels = _labels(name, svc, role)
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "crm"}
    requests, limits, max_replicas = SIZES[size]
    locked = LOCKED
    container = {
        "name": name, "image": IMAGE, "imagePullPolicy": "IfNotPresent", "command": command,
        "envFrom": [{"configMapRef": {"name": "crm-config"}}], "env": env,
        "ports": ports, **probes,
        "resources": {"requests": requests, "limits": limits},
        "securityContext": locked,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         # the public keys only where tokens are verified (the gRPC APIs, the gateway)
                         *([{"name": "public-keys", "mountPath": K8S_KEYS_DIR, "readOnly": True}] if public_keys else []),
                         # its own gRPC certificate, key and the CA (crm_platform.tls), nobody else's
                         {"name": "grpc-tls", "mountPath": K8S_TLS_DIR, "readOnly": True}],
    }
    init_containers = [{"name": c["name"], "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": c["command"], "envFrom": [{"configMapRef": {"name": "crm-config"}}],
                        "env": c.get("env", []),
                        "resources": {"requests": requests, "limits": limits}, "securityContext": locked,
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]} for c in init]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {
            # no `replicas`: the HorizontalPodAutoscaler owns it (kubectl apply would reset it otherwise)
            "revisionHistoryLimit": 5, "selector": {"matchLabels": selector},
            # A one-replica worker is replaced, not rolled: with a surge the old and the new pod would run
            # at once for a while (two mailers sending one mail twice). Recreate stops the old pod first.
            "strategy": ({"type": "Recreate"} if max_replicas == 1 else
                         {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": name, "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": POD_SECURITY,
                    **({"initContainers": init_containers} if init_containers else {}),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                                *([{"name": "public-keys", "configMap": {"name": "crm-public-keys", "items": [
                                    {"key": k, "path": k} for k in public_keys]}}] if public_keys else []),
                                # root:10001 0440: the pod's fsGroup reads it
                                {"name": "grpc-tls", "secret": {"secretName": tls_secret(tls_name or svc),
                                                                "defaultMode": 0o440}}],
                },
            },
        },
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "labels": labels},
         "automountServiceAccountToken": False},
        deployment,
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
         "spec": {"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": p["name"], "port": p["containerPort"], "targetPort": p["name"],
                             "protocol": "TCP", **({"appProtocol": "grpc"} if p["name"] == "grpc" else {})}
                            for p in ports]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": name, "labels": labels},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                  "minReplicas": 1, "maxReplicas": max_replicas,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization", "averageUtilization": 70}}}]}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "labels": labels},
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}}},
    ]


def k8s_service_process(svc: Service, role: str, http_probes: bool) -> list[dict]:
    up = svc.name.upper()
    env = [{"name": f"{up}_GRPC_BIND", "value": f"0.0.0.0:{GRPC_PORT}"},
           {"name": f"{up}_HEALTH_PORT", "value": str(HEALTH_PORT)},
           *({"name": k, "value": v} for k, v in tls_env(up, K8S_TLS_DIR).items()),
           {"name": f"{up}_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "crm-secrets", "key": f"{svc.name}-database-url"}}}]
    env += [{"name": n, "value": value} if value else
            {"name": n, "valueFrom": {"secretKeyRef": {"name": "crm-secrets", "key": secret_of(n, svc)[1]}}}
            for n, value in process_secrets(svc, role).items()]
    env.append({"name": "KAFKA_SASL_USERNAME", "value": svc.name})
    ports = [{"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}]
    if role == "api":
        ports.insert(0, {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"})
    # every role, the gRPC APIs too: /healthz is liveness (the process and its threads), /readyz readiness
    # (its database and loops); grpc.health.v1 reports readiness, so it cannot tell a database outage
    # from a dead process
    probes = _probes("http" if http_probes else "exec", HEALTH_PORT)
    # the topics (with their .dlq) exist, replicated, before any process of the pod starts: no process
    # creates one first with settings of its own (crm_platform.topics; it waits for the brokers)
    # (as the service's own Kafka user: its ACLs let it create topics, not use others')
    kafka_env = [e for e in env if e["name"] in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")]
    init = [{"name": "topics", "command": TOPICS_COMMAND, "env": kafka_env}]
    return workload(svc.process(role), svc.name, role, ["python", "-m", svc.module, role], env, ports, probes,
                    role if role in SIZES else "other", init,
                    public_keys=["access.pub", "service.pub"] if verifies_tokens(role) else [])


def k8s_gateway() -> list[dict]:
    env = [{"name": "GATEWAY_BIND", "value": f"0.0.0.0:{GATEWAY_PORT}"},
           *({"name": k, "value": v} for k, v in tls_env("GATEWAY", K8S_TLS_DIR).items())]
    ports = [{"name": "http", "containerPort": GATEWAY_PORT, "protocol": "TCP"}]
    return workload("gateway", "gateway", "gateway", ["gunicorn", "-c", "gateway/gunicorn.conf.py"], env, ports,
                    # readiness on /healthz: the gateway's /readyz needs every backend, and one service
                    # down must not take every gateway pod out of the Service (it answers 503 for that
                    # service's routes instead).
                    _probes("http", GATEWAY_PORT, ready_path="/healthz"), "gateway", public_keys=["access.pub"])


def k8s_config(services: list[Service], shared: dict) -> list[dict]:
    secret_keys = {f"{s.name}-database-url": f"postgresql+psycopg://{s.name}:REPLACE_ME@postgres:5432/{s.name}"
                   for s in services}
    secret_keys.update({secret_of(name, svc)[1]: "REPLACE_ME" for svc in services for name in SECRETS})
    secret_keys.update({"kafka-admin-username": "REPLACE_ME", "kafka-admin-password": "REPLACE_ME"})
    placeholder = "REPLACE_ME: the PEM of the {} public key\n"
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "crm-config", "labels": {
            "app.kubernetes.io/part-of": "crm"}}, "data": {k: v[1] for k, v in shared.items()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "crm-public-keys", "labels": {
            "app.kubernetes.io/part-of": "crm"}},
         "data": {"access.pub": placeholder.format("access-token"), "service.pub": placeholder.format("service-token")}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "crm-secrets", "labels": {
            "app.kubernetes.io/part-of": "crm"}}, "type": "Opaque", "stringData": dict(sorted(secret_keys.items()))},
        # one per certificate of `deploy/keygen.py tls` (docs/deployment.md): mounted only by its own pods
        *({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": tls_secret(name), "labels": {
            "app.kubernetes.io/part-of": "crm"}}, "type": "kubernetes.io/tls",
           "stringData": {"ca.crt": "REPLACE_ME: the PEM of the gRPC CA (ca/ca.crt)\n",
                          "tls.crt": f"REPLACE_ME: the PEM of {name}/tls.crt\n",
                          "tls.key": f"REPLACE_ME: the PEM of {name}/tls.key\n"}}
          for name in tls_certs(services)),
    ]
