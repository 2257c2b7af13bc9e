"""docker-compose.yml (`deploy/generate.py`)."""

from __future__ import annotations

# Loaded by deploy/generate.py (`_sibling`) under the name crm_deploy_<file>: deploy/ is not on sys.path, so
# its modules import each other by those names, after generate.py has loaded them in order.
from crm_deploy_model import (  # noqa: E402
    COMPOSE_IMAGE, DB_PASSWORD, GATEWAY_PORT, HEALTH_PORT, KAFKA_NODES, PARTITIONS, REPLICATION,
    SIMULATOR_ENV, Service, Simulator, TLS_DIR, TOPICS_COMMAND, keygen_command, keygen_volumes,
    kafka_nodes, process_env, process_secrets, process_volumes, secret_of, tls_env, token_keys)
from crm_deploy_model import broker  # noqa: E402
from crm_deploy_yaml_writer import HEADER  # noqa: E402

# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------

def _probe(kind: str, target: str) -> dict:
    return {"test": ["CMD", "python", "/app/deploy/probe.py", kind, target],
            "interval": "10s", "timeout": "5s", "retries": 6, "start_period": "60s"}


def compose(services: list[Service], sims: list[Simulator]) -> dict:
    infra_ready = {"db-init": {"condition": "service_completed_successfully"},
                   "kafka-init": {"condition": "service_completed_successfully"},
                   "kafka-users": {"condition": "service_completed_successfully"},
                   "kafka-acls": {"condition": "service_completed_successfully"},
                   "keygen": {"condition": "service_completed_successfully"}}
    app = {"image": COMPOSE_IMAGE, "build": {"context": ".", "dockerfile": "Dockerfile"},
           "env_file": ["deploy/compose/crm.env"],
           "read_only": True, "tmpfs": ["/tmp"], "security_opt": ["no-new-privileges:true"],
           "cap_drop": ["ALL"], "restart": "unless-stopped"}
    out: dict = {
        "postgres": {
            "image": "postgres:16-alpine",
            "environment": {"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "postgres"},
            "volumes": ["postgres:/var/lib/postgresql/data"],
            "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U postgres -d postgres"],
                            "interval": "5s", "timeout": "5s", "retries": 20},
            "restart": "unless-stopped",
        },
        "db-init": {
            "image": "postgres:16-alpine",
            "command": ["sh", "/scripts/create-databases.sh"],
            "environment": {"PGHOST": "postgres", "PGUSER": "postgres", "PGPASSWORD": "postgres",
                            "CRM_DATABASES": ",".join(s.name for s in services),
                            "CRM_DATABASE_PASSWORD": DB_PASSWORD},
            "volumes": ["./deploy/compose/create-databases.sh:/scripts/create-databases.sh:ro"],
            "depends_on": {"postgres": {"condition": "service_healthy"}},
            "restart": "no",
        },
        "mailpit": {
            "image": "axllent/mailpit:v1.27",
            "ports": ["8025:8025"],
            "environment": {"MP_SMTP_AUTH_ACCEPT_ANY": "true", "MP_SMTP_AUTH_ALLOW_INSECURE": "true"},
            "healthcheck": {"test": ["CMD", "/mailpit", "readyz"], "interval": "10s", "timeout": "5s",
                            "retries": 10},
            "restart": "unless-stopped",
        },
        "keygen": {
            "image": COMPOSE_IMAGE, "build": {"context": ".", "dockerfile": "Dockerfile"},
            # root with CAP_CHOWN only: the volumes are new (root's), and it hands each file to the app's
            # user (`--owner`): every process mounts only its own certificate and the keys it uses
            "command": keygen_command(services), "user": "0:0",
            "volumes": keygen_volumes(services),
            "read_only": True, "cap_drop": ["ALL"], "cap_add": ["CHOWN"], "security_opt": ["no-new-privileges:true"],
            "restart": "no",
        },
    }
    out.update({name: broker.node(i, KAFKA_NODES, REPLICATION, PARTITIONS) for i, name in enumerate(kafka_nodes(), 1)})
    # every topic of the contracts and its .dlq, replicated (crm_platform.topics); it waits for the brokers.
    # As the super user, like the services' SCRAM users (kafka-users) and their ACLs (kafka-acls)
    brokers_up = {n: {"condition": "service_healthy"} for n in kafka_nodes()}
    out["kafka-init"] = {**app, "command": TOPICS_COMMAND, "restart": "no", "environment": broker.admin_env(),
                         "depends_on": brokers_up}
    out["kafka-users"] = broker.compose_users([s.name for s in services], KAFKA_NODES)
    out["kafka-acls"] = {**app, "command": broker.ACLS_COMMAND, "restart": "no", "environment": broker.admin_env(),
                         "depends_on": brokers_up}
    for sim in sims:
        out[sim.name] = {**app, "command": ["python", "-m", sim.module], "ports": [f"{sim.port}:{sim.port}"],
                         "environment": SIMULATOR_ENV.get(sim.name, {}),
                         "healthcheck": _probe("tcp", f"127.0.0.1:{sim.port}"),
                         "depends_on": {"keygen": {"condition": "service_completed_successfully"}}}
    for svc in services:
        needs = dict(infra_ready)
        if any(s.env == "SMTP_HOST" for s in svc.settings):
            needs["mailpit"] = {"condition": "service_healthy"}
        if any(s.env.startswith("CLICK_") for s in svc.settings):
            needs.update({sim.name: {"condition": "service_healthy"} for sim in sims if sim.name == "click"})
        for role in svc.roles:
            env = process_env(svc, role)
            env.update({name: value or secret_of(name, svc)[0] for name, value in process_secrets(svc, role).items()})
            out[svc.process(role)] = {
                **app, "command": ["python", "-m", svc.module, role], "environment": env,
                "volumes": process_volumes(svc.name, token_keys(svc, role)),
                # readiness, every role alike: the process, its database, its loops (crm_platform.health)
                "healthcheck": _probe("http", f"http://127.0.0.1:{HEALTH_PORT}/readyz"),
                "depends_on": needs,
            }
    out["gateway"] = {
        **app, "command": ["gunicorn", "-c", "gateway/gunicorn.conf.py"],
        "environment": {"GATEWAY_BIND": f"0.0.0.0:{GATEWAY_PORT}", **tls_env("GATEWAY", TLS_DIR)},
        "volumes": process_volumes("gateway", ["public"]),  # both public keys: a volume is mounted whole
        "ports": [f"{GATEWAY_PORT}:{GATEWAY_PORT}"],
        "healthcheck": _probe("http", f"http://127.0.0.1:{GATEWAY_PORT}/readyz"),
        "depends_on": {svc.process("api"): {"condition": "service_healthy"} for svc in services
                       if "api" in svc.roles},
    }
    volumes = {v.split(":")[0]: {} for v in keygen_volumes(services)}
    return {"services": out, "volumes": {"postgres": {}, **volumes}}


def compose_env(shared: dict) -> str:
    lines = [HEADER.rstrip(), "# Settings every CRM process gets in docker-compose (see tools/stack.py for `make run`)."]
    lines += [f"{k}={v[0]}" for k, v in shared.items()]
    return "\n".join(lines) + "\n"
