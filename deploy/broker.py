"""Kafka in the deployment (`deploy/generate.py`): compose's KRaft nodes with SASL, one SCRAM user per
service and their ACLs (compose one-shots, Kubernetes Jobs).

compose: every listener is SASL_PLAINTEXT; the brokers and controllers talk to each other as the super user
`admin` (PLAIN, its password in the brokers' JAAS settings and in the hand-written
`deploy/compose/kafka-admin.properties`); clients authenticate with SCRAM-SHA-512, one user per service.
The StandardAuthorizer refuses whatever no ACL allows. `kafka-users` (the Kafka image's kafka-configs.sh)
creates the SCRAM users, `kafka-acls` (`python -m crm_platform.kafka_acls apply`) their ACLs: a service
writes only `crm.<service>.*` and reads what it consumes. Kubernetes: two Jobs do the same against the
cluster's Kafka (SASL_SSL), as the admin user of `crm-secrets`.

Standard library only, like the generator.
"""

from __future__ import annotations

KAFKA_IMAGE = "apache/kafka:3.9.1"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "crm-kafka-admin-dev-only"      # compose only
ADMIN_PROPERTIES = "/etc/crm/kafka-admin.properties"
ADMIN_PROPERTIES_FILE = "./deploy/compose/kafka-admin.properties"   # hand-written, with ADMIN_PASSWORD
SASL_PROPERTIES_FILE = "./deploy/compose/kafka-sasl.properties"     # hand-written: the brokers' JAAS settings
MECHANISM = "SCRAM-SHA-512"
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qk"


def password(service: str) -> str:
    """compose's (development) SCRAM password of a service's user."""
    return f"crm-kafka-{service}-dev-only"


def nodes(count: int) -> list[str]:
    return [f"kafka-{i}" for i in range(1, count + 1)]


def node(i: int, count: int, replication: tuple[str, str], partitions: int) -> dict:
    """One node of compose's Kafka cluster: broker and KRaft controller; topics get 3 replicas and need 2
    in sync for an acks=all write (the internal topics too), so the cluster takes writes with a node down.
    (The image turns KAFKA_A_B into a.b, `__` into `_`, `___` into `-`, and drops values holding "=".)"""
    name = f"kafka-{i}"
    return {
        "image": KAFKA_IMAGE,
        "environment": {
            "KAFKA_NODE_ID": str(i), "KAFKA_PROCESS_ROLES": "broker,controller",
            "CLUSTER_ID": CLUSTER_ID,
            "KAFKA_LISTENERS": "CLIENT://:9092,CONTROLLER://:9093",
            "KAFKA_ADVERTISED_LISTENERS": f"CLIENT://{name}:9092",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            "KAFKA_INTER_BROKER_LISTENER_NAME": "CLIENT",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
            "KAFKA_SASL_ENABLED_MECHANISMS": f"PLAIN,{MECHANISM}",
            "KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL": "PLAIN",
            "KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL": "PLAIN",
            # the listeners' JAAS settings are in SASL_PROPERTIES_FILE; the image only needs KAFKA_OPTS set
            "KAFKA_OPTS": "-Dcrm.kafka.jaas.per.listener",
            "KAFKA_AUTHORIZER_CLASS_NAME": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "KAFKA_SUPER_USERS": f"User:{ADMIN_USER}",
            "KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND": "false",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": ",".join(f"{n + 1}@{host}:9093" for n, host in enumerate(nodes(count))),
            "KAFKA_DEFAULT_REPLICATION_FACTOR": replication[0],
            "KAFKA_MIN_INSYNC_REPLICAS": replication[1],
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": replication[0],
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": replication[0],
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": replication[1],
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            "KAFKA_NUM_PARTITIONS": str(partitions),
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
        },
        "volumes": [f"{ADMIN_PROPERTIES_FILE}:{ADMIN_PROPERTIES}:ro",
                    f"{SASL_PROPERTIES_FILE}:/mnt/shared/config/server.properties:ro"],
        "healthcheck": {"test": ["CMD-SHELL", "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server "
                                 f"localhost:9092 --command-config {ADMIN_PROPERTIES} >/dev/null 2>&1"],
                        "interval": "10s", "timeout": "10s", "retries": 20, "start_period": "20s"},
        "restart": "unless-stopped",
    }


def admin_env() -> dict[str, str]:
    """The settings of a crm_platform command run as the super user (topics, ACLs) in compose."""
    return {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN",
            "KAFKA_SASL_USERNAME": ADMIN_USER, "KAFKA_SASL_PASSWORD": ADMIN_PASSWORD}


def users_script(services: list[str], bootstrap: str, config: str, password_of) -> str:
    """kafka-configs.sh: one SCRAM user per service (re-running replaces the credential with the same one)."""
    return " && ".join(
        f"/opt/kafka/bin/kafka-configs.sh --bootstrap-server {bootstrap} --command-config {config} --alter "
        f"--add-config '{MECHANISM}=[iterations=8192,password={password_of(svc)}]' --entity-type users "
        f"--entity-name {svc}" for svc in services)


def compose_users(services: list[str], count: int) -> dict:
    """The one-shot that creates the services' SCRAM users."""
    return {"image": KAFKA_IMAGE, "command": ["sh", "-c", users_script(services, f"{nodes(count)[0]}:9092",
                                                                       ADMIN_PROPERTIES, password)],
            "volumes": [f"{ADMIN_PROPERTIES_FILE}:{ADMIN_PROPERTIES}:ro"],
            "depends_on": {n: {"condition": "service_healthy"} for n in nodes(count)}, "restart": "no"}


ACLS_COMMAND = ["python", "-m", "crm_platform.kafka_acls", "apply"]


# --- Kubernetes -------------------------------------------------------------------------------

def k8s_jobs(services: list[str], image: str, locked: dict, pod_security: dict) -> list[dict]:
    """Jobs making the services' SCRAM users and their ACLs on the cluster's Kafka, as its admin user."""
    labels = {"app.kubernetes.io/part-of": "crm", "crm.example.com/service": "kafka-admin"}
    admin = [{"name": "KAFKA_SASL_USERNAME", "valueFrom": {"secretKeyRef": {"name": "crm-secrets",
                                                                            "key": "kafka-admin-username"}}},
             {"name": "KAFKA_SASL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "crm-secrets",
                                                                            "key": "kafka-admin-password"}}}]
    passwords = [{"name": f"PASSWORD_{svc.upper()}", "valueFrom": {"secretKeyRef": {
        "name": "crm-secrets", "key": f"kafka-password-{svc}"}}} for svc in services]
    properties = ('printf "security.protocol=%s\\nsasl.mechanism=%s\\nsasl.jaas.config=org.apache.kafka.common.'
                  'security.scram.ScramLoginModule required username=\\"%s\\" password=\\"%s\\";\\n" '
                  '"$KAFKA_SECURITY_PROTOCOL" "$KAFKA_SASL_MECHANISM" "$KAFKA_SASL_USERNAME" "$KAFKA_SASL_PASSWORD" '
                  '> /tmp/admin.properties')
    users = users_script(services, "$KAFKA_BOOTSTRAP_SERVERS", "/tmp/admin.properties",
                         lambda svc: f"$PASSWORD_{svc.upper()}")

    def job(name: str, container_image: str, command: list[str], env: list[dict]) -> dict:
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": labels},
                "spec": {"backoffLimit": 10, "ttlSecondsAfterFinished": 3600, "template": {
                    "metadata": {"labels": labels},
                    "spec": {"restartPolicy": "OnFailure", "automountServiceAccountToken": False,
                             "securityContext": pod_security,
                             "containers": [{"name": name, "image": container_image, "command": command,
                                             "envFrom": [{"configMapRef": {"name": "crm-config"}}], "env": env,
                                             "securityContext": locked,
                                             "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                                                           "limits": {"cpu": "500m", "memory": "512Mi"}},
                                             "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
                             "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}]}}}}

    logs = [{"name": "LOG_DIR", "value": "/tmp"}]  # the tools' log4j, on a read-only root file system
    return [job("kafka-users", KAFKA_IMAGE, ["sh", "-c", f"{properties} && {users}"], admin + passwords + logs),
            job("kafka-acls", image, ACLS_COMMAND, admin)]
