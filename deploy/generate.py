"""Generate docker-compose.yml and the kustomize base from the code.

    python deploy/generate.py           # (re)write the generated files
    python deploy/generate.py --check   # exit 1 and name the files that are stale

What is generated comes from the code, so a new service or process type shows up by running this
again: the services are the folders `services/<svc>` whose `src/crm_<svc>/__main__.py` has a
`ROLES` dict (read with `ast`, nothing is imported), the settings each one needs are the
`setting(...)` declarations in its `config.py` (plus the platform's `ServiceSettings`), and the simulators
are the folders `simulators/<name>` with a `src/<package>/__main__.py`. The Kafka topics are created by
`python -m crm_platform.topics create` (compose's `kafka-init`, each pod's `topics` init container), which
reads them from the event contracts itself.

The generator's modules, beside this file: `model.py` (what the code declares; settings, secrets, gRPC
certificates and token keys per process), `compose.py` (docker-compose.yml), `k8s.py` (the base's workloads
and configuration), `policies.py` (NetworkPolicies), `broker.py` (Kafka: SASL, SCRAM users, ACL jobs),
`yaml_writer.py`.

Hand-written (not generated): `deploy/overlays/*`, `deploy/compose/*.sh`, `deploy/compose/*.properties`,
`deploy/probe.py`, `deploy/keygen.py`, the Dockerfile. Standard library only: it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import pathlib
import sys


def _sibling(name: str):
    """A module of the generator's beside this file (deploy/<name>.py), loaded by path as `crm_deploy_<name>`:
    deploy/ is not put on sys.path, where its modules could shadow installed packages (`kafka`, `compose`)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"crm_deploy_{name}", pathlib.Path(__file__).resolve().parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# in dependency order; their names are this module's too (tests and tools use `generate.<name>`)
yaml_writer = _sibling("yaml_writer")  # the YAML writer
broker = _sibling("broker")            # Kafka: compose's nodes, SCRAM users and ACLs, the Kubernetes Jobs
policies = _sibling("policies")        # NetworkPolicies
model = _sibling("model")              # what the code declares; settings, secrets, certificates, keys
compose_file = _sibling("compose")     # docker-compose.yml
k8s = _sibling("k8s")                  # the kustomize base's workloads and configuration
for _module in (yaml_writer, model, compose_file, k8s):  # re-exported: `generate.discover_services`, ...
    globals().update({k: v for k, v in vars(_module).items() if not k.startswith("__") and k not in globals()})
ROOT = model.ROOT


# ---------------------------------------------------------------------------------------------

def render(root: pathlib.Path = ROOT) -> dict[str, str]:
    """Every generated file: path relative to the repository -> content."""
    services = model.discover_services(root)
    sims = model.discover_simulators(root)
    shared = model.shared_config(services, sims)
    model.check_coverage(services, shared)
    documents, to_yaml, header = yaml_writer.documents, yaml_writer.to_yaml, yaml_writer.HEADER
    files = {
        "docker-compose.yml": header + "# `docker compose up --build`: the gateway on http://localhost:8080, "
                              "mail at http://localhost:8025\n" + to_yaml(compose_file.compose(services, sims)) + "\n",
        "deploy/compose/crm.env": compose_file.compose_env(shared),
        "deploy/base/config.yaml": documents(k8s.k8s_config(services, shared)),
        "deploy/base/gateway.yaml": documents(k8s.k8s_gateway()),
    }
    callers = policies.grpc_callers(services, policies.service_calls(
        root / "services/platform/src/crm_platform/service_calls.py"), model.GATEWAY_SETTINGS(root))
    files["deploy/base/network-policies.yaml"] = documents(policies.network_policies(
        services, callers, model.GRPC_PORT, model.HEALTH_PORT, model.GATEWAY_PORT))
    files["deploy/base/kafka.yaml"] = documents(broker.k8s_jobs([s.name for s in services], model.IMAGE, k8s.LOCKED,
                                                                k8s.POD_SECURITY))
    resources = ["config.yaml", "network-policies.yaml", "kafka.yaml", "gateway.yaml"]
    for svc in services:
        for role in svc.roles:
            path = f"{svc.name}/{role}.yaml"
            files[f"deploy/base/{path}"] = documents(k8s.k8s_service_process(svc, role, model.health_bindable(services)))
            resources.append(path)
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "labels": [{"pairs": {"app.kubernetes.io/managed-by": "kustomize"}}],
                     "resources": resources}
    files["deploy/base/kustomization.yaml"] = header + to_yaml(kustomization) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ from the code")
    args = parser.parse_args()
    files = render()
    base = ROOT / "deploy" / "base"
    stale_extra = [p for p in base.rglob("*.yaml") if str(p.relative_to(ROOT)) not in files]
    stale = [p for p, text in files.items() if not (ROOT / p).exists() or (ROOT / p).read_text() != text]
    if args.check:
        for p in stale + [str(p.relative_to(ROOT)) for p in stale_extra]:
            print(f"stale: {p}")
        return 1 if stale or stale_extra else 0
    for p in stale_extra:
        p.unlink()
        print(f"removed {p.relative_to(ROOT)}")
    for p in stale:
        (ROOT / p).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / p).write_text(files[p])
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
