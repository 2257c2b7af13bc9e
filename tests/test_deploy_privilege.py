"""Least privilege in the deployment (docs/security.md): each process mounts only its own gRPC
certificate and only the token keys it signs or verifies with; NetworkPolicies let only a service's
callers reach its gRPC port (from the same allowlist the code enforces); each service has its own Kafka
user whose ACLs match the topics it produces and consumes. Fixtures and tools: tests/test_deploy.py."""

from __future__ import annotations

import importlib.util

import pytest

from tests.support.deploy import ROOT, gen
from tests.test_deploy import _by_kind, config_of

def _volume_names(svc: dict) -> list[str]:
    """compose's resolved volumes of a service: the source names (named volumes)."""
    return [v["source"] if isinstance(v, dict) else v.split(":")[0] for v in svc.get("volumes", [])]


def test_compose_gives_every_process_only_its_own_grpc_certificate(compose_config):
    """Each service process mounts its service's certificate volume (with the CA), the gateway its own;
    no process mounts another's or the CA's key; keygen makes one certificate per volume, valid for the
    host its callers dial (`<SVC>_GRPC_ADDR`)."""
    services = compose_config["services"]
    certs = gen.tls_certs(gen.discover_services())
    for svc in gen.discover_services():
        for role in svc.roles:
            proc = services[svc.process(role)]
            tls = [v for v in _volume_names(proc) if v.startswith("tls-")]
            assert tls == [f"tls-{svc.name}"], (svc.process(role), tls)
            env, up = proc["environment"], svc.name.upper()
            assert (env["GRPC_TLS_CA"], env[f"{up}_GRPC_TLS_CERT"], env[f"{up}_GRPC_TLS_KEY"]) == (
                f"{gen.TLS_DIR}/ca.crt", f"{gen.TLS_DIR}/tls.crt", f"{gen.TLS_DIR}/tls.key")
            assert all(v.endswith(":ro") for v in proc["volumes"]), svc.process(role)
    gateway = services["gateway"]
    assert [v for v in _volume_names(gateway) if v.startswith("tls-")] == ["tls-gateway"]
    assert gateway["environment"]["GATEWAY_GRPC_TLS_CERT"] == f"{gen.TLS_DIR}/tls.crt"
    users = {v for name, s in services.items() if name != "keygen" for v in _volume_names(s)}
    assert "tls-ca" not in users, "only keygen holds the CA's key"
    keygen = services["keygen"]
    assert {f"tls-{n}" for n in ["ca", *certs]} <= set(_volume_names(keygen))
    command = " ".join(keygen["command"])
    for name, hosts in certs.items():
        assert f"--cert {name}={','.join(hosts)}" in command
    for svc in gen.discover_services():
        if "api" in svc.roles:  # the callers dial a name the callee's certificate holds
            host = gen.shared_config(gen.discover_services(), [])[f"{svc.name.upper()}_GRPC_ADDR"][0].split(":")[0]
            assert host in certs[svc.name], (svc.name, host)


def test_kubernetes_gives_every_pod_only_its_own_grpc_certificate(k8s):
    for build, resources in k8s["builds"].items():
        secrets = _by_kind(resources, "Secret")
        config = config_of(resources)
        assert config["GRPC_TLS_CA"] == f"{gen.K8S_TLS_DIR}/ca.crt"
        for name, dep in _by_kind(resources, "Deployment").items():
            pod = dep["spec"]["template"]["spec"]
            svc = dep["metadata"]["labels"]["crm.example.com/service"]
            [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName", "").startswith("crm-grpc-tls")]
            secret = volume["secret"]["secretName"]
            assert secret.endswith(f"crm-grpc-tls-{svc}"), (build, name, secret)  # overlays may prefix names
            tls = secrets[secret]
            assert tls["type"] == "kubernetes.io/tls" and set(tls["stringData"]) == {"ca.crt", "tls.crt", "tls.key"}
            [c] = pod["containers"]
            [mount] = [m for m in c["volumeMounts"] if m["name"] == volume["name"]]
            assert mount["mountPath"] == gen.K8S_TLS_DIR and mount["readOnly"]
            env = {e["name"]: e.get("value") for e in c["env"]}
            prefix = "GATEWAY" if svc == "gateway" else svc.upper()
            assert env[f"{prefix}_GRPC_TLS_CERT"] == f"{gen.K8S_TLS_DIR}/tls.crt", (build, name)
            assert env[f"{prefix}_GRPC_TLS_KEY"] == f"{gen.K8S_TLS_DIR}/tls.key", (build, name)
        assert {n for n in secrets if "crm-grpc-tls-" in n} == {
            n for n in secrets for c in gen.tls_certs(gen.discover_services()) if n.endswith(f"crm-grpc-tls-{c}")}


def test_keygen_certificates_carry_the_in_cluster_names(tmp_path):
    """`deploy/keygen.py tls --namespace crm` adds each host's Service names (what `<svc>-api` resolves as
    from another namespace too); the CA's key stays out of the certificate folders."""
    from cryptography import x509

    spec = importlib.util.spec_from_file_location("deploy_keygen", ROOT / "deploy" / "keygen.py")
    keygen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keygen)
    keygen.main(["tls", str(tmp_path), "--cert", "records=records-api", "--cert", "gateway", "--namespace", "crm"])
    cert = x509.load_pem_x509_certificate((tmp_path / "records" / "tls.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert names == ["records-api", "records-api.crm", "records-api.crm.svc", "records-api.crm.svc.cluster.local"]
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert (tmp_path / "gateway" / "ca.crt").read_bytes() == (tmp_path / "ca" / "ca.crt").read_bytes()


# --- NetworkPolicies (deploy/policies.py) ---------------------------------------------------------

def _selects(selector: dict, labels: dict) -> bool:
    """A label selector (matchLabels, matchExpressions In/NotIn/Exists) matches `labels`."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        value = labels.get(e["key"])
        ok = {"In": value in e.get("values", []), "NotIn": value not in e.get("values", []),
              "Exists": e["key"] in labels, "DoesNotExist": e["key"] not in labels}[e["operator"]]
        if not ok:
            return False
    return True


def _reachable(policies: list[dict], source: dict | None, target: dict, port: int) -> bool:
    """NetworkPolicy semantics for ingress inside the namespace: `source` a pod's labels (None: a pod of
    another namespace, e.g. monitoring), `target` the receiving pod's labels."""
    applying = [p for p in policies if _selects(p["spec"]["podSelector"], target)
                and "Ingress" in p["spec"]["policyTypes"]]
    if not applying:
        return True
    for p in applying:
        for rule in p["spec"].get("ingress") or []:
            if rule.get("ports") and not any(q["port"] == port for q in rule["ports"]):
                continue
            for peer in rule.get("from") or [{}]:
                if peer == {}:
                    return True
                if "podSelector" in peer and "namespaceSelector" not in peer and source is not None \
                        and _selects(peer["podSelector"], source):
                    return True
    return False


def expected_grpc_callers() -> dict[str, set[str]]:
    """Independently of the generator: who calls whom = the service-token allowlist (the imported module)
    plus the services and the gateway configured with the callee's address."""
    from crm_platform.service_calls import SERVICE_CALLS

    services = gen.discover_services()
    out = {s.name: set(SERVICE_CALLS.get(s.name, {})) for s in services if "api" in s.roles}
    for who, settings in [(s.name, s.settings) for s in services] + [("gateway", gen.GATEWAY_SETTINGS())]:
        for setting in settings:
            callee = setting.env.removesuffix("_GRPC_ADDR").lower()
            if setting.env.endswith("_GRPC_ADDR") and callee in out and callee != who:
                out[callee].add(who)
    return out


def test_network_policies_let_only_the_callers_reach_each_grpc_port(k8s):
    from crm_platform.service_calls import SERVICE_CALLS

    expected = expected_grpc_callers()
    for callee, callers in SERVICE_CALLS.items():  # the allowlist is always let through
        assert set(callers) <= expected[callee]
    assert expected["identity"] == {"gateway", *SERVICE_CALLS["identity"]}
    assert expected["billing"] == {"gateway", *SERVICE_CALLS["billing"]}
    for build, resources in k8s["builds"].items():
        policies = list(_by_kind(resources, "NetworkPolicy").values())
        [deny] = [p for p in policies if p["metadata"]["name"].endswith("default-deny-ingress")]
        assert deny["spec"]["podSelector"] == {} and not deny["spec"].get("ingress"), build
        pods = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in _by_kind(resources, "Deployment").items()}
        for callee, callers in expected.items():
            target = pods[f"{callee}-api"]
            reached_by = {labels["crm.example.com/service"] for name, labels in pods.items()
                          if _reachable(policies, labels, target, gen.GRPC_PORT)}
            assert reached_by == callers, (build, callee, reached_by)
            assert not _reachable(policies, None, target, gen.GRPC_PORT), (build, callee, "from another namespace")
        for name, labels in pods.items():  # no other port of a pod is open inside the namespace
            for port in (gen.HEALTH_PORT, gen.GATEWAY_PORT):
                assert not any(_reachable(policies, src, labels, port) for src in pods.values()), (build, name, port)


def test_network_policies_for_kafka_databases_redis_and_monitoring(k8s):
    for build, resources in k8s["builds"].items():
        policies = list(_by_kind(resources, "NetworkPolicy").values())
        pods = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in _by_kind(resources, "Deployment").items()}
        services = {s.name for s in gen.discover_services()}

        def reach(what: str, port: int) -> set[str]:
            target = {"app.kubernetes.io/name": what}
            return {n for n, labels in pods.items() if _reachable(policies, labels, target, port)}

        # every service pod produces or consumes (relay, consumers, the `topics` init container); not the gateway
        assert reach("kafka", 9092) == {n for n, labels in pods.items()
                                        if labels["crm.example.com/service"] in services}, build
        assert "gateway" not in reach("kafka", 9092) | reach("postgres", 5432)
        assert reach("postgres", 5432) == reach("kafka", 9092)
        assert reach("redis", 6379) == {"gateway"}, build
        for name, labels in pods.items():  # /metrics and probes: only from the monitoring namespace
            port = gen.GATEWAY_PORT if name == "gateway" else gen.HEALTH_PORT
            rules = [r for p in policies if _selects(p["spec"]["podSelector"], labels)
                     for r in p["spec"].get("ingress") or [] if any(q["port"] == port for q in r.get("ports", []))]
            namespaces = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                          for r in rules for peer in r["from"] if "namespaceSelector" in peer}
            assert gen.policies.MONITORING_NAMESPACE in namespaces, (build, name)
            if name == "gateway":
                assert gen.policies.INGRESS_NAMESPACE in namespaces


def test_network_policies_are_generated_from_the_allowlist(tmp_path):
    """A caller added to SERVICE_CALLS reaches its callee's port in the generated policies; one the code
    does not have stops the generator."""
    import textwrap

    path = tmp_path / "service_calls.py"
    path.write_text(textwrap.dedent('''
        SERVICE_CALLS = {"billing": {"automation": {"/x/Y": frozenset()}}, "records": {}}
    '''))
    allowlist = gen.policies.service_calls(path)
    assert allowlist == {"billing": {"automation"}, "records": set()}
    callers = gen.policies.grpc_callers(gen.discover_services(), allowlist, gen.GATEWAY_SETTINGS())
    assert callers["billing"] == {"gateway", "automation"}
    with pytest.raises(SystemExit, match="quotes"):
        gen.policies.grpc_callers(gen.discover_services(), {"quotes": {"records"}}, gen.GATEWAY_SETTINGS())


# --- token keys: only where a process signs or verifies ------------------------------------------

def test_the_signers_are_identity_api_and_the_service_token_callers():
    """The access-token key: identity's API alone (it logs users in). The service-token key: the processes
    of the services that call others with service tokens (`crm_platform.service_calls`), and no other
    service's; identity's relay and mailer sign nothing."""
    from crm_platform.service_calls import SERVICE_CALLS

    assert gen.SIGNERS["AUTH_PRIVATE_KEY"] == {("identity", "api")}
    callers = {caller for callers in SERVICE_CALLS.values() for caller in callers}
    assert {svc for svc, _ in gen.SIGNERS["SERVICE_TOKEN_PRIVATE_KEY"]} == callers
    roles = {(s.name, r) for s in gen.discover_services() for r in s.roles}
    assert set().union(*gen.SIGNERS.values()) <= roles
    for name, processes in gen.SIGNERS.items():  # each signer's service declares the key it signs with
        for svc_name, _ in processes:
            [svc] = [s for s in gen.discover_services() if s.name == svc_name]
            assert name in gen.secrets_of(svc), (svc_name, name)


def test_compose_mounts_token_keys_only_where_a_process_signs_or_verifies(compose_config):
    services = compose_config["services"]
    folders = {"AUTH_PRIVATE_KEY": "tokens-access", "SERVICE_TOKEN_PRIVATE_KEY": "tokens-service"}
    for svc in gen.discover_services():
        for role in svc.roles:
            proc = services[svc.process(role)]
            volumes, env = set(_volume_names(proc)), proc["environment"]
            for name, volume in folders.items():
                signs = (svc.name, role) in gen.SIGNERS[name]
                assert (volume in volumes) is signs, (svc.process(role), volume)
                if signs:
                    assert env[name] == gen.SECRETS[name][0], (svc.process(role), name)
                else:
                    assert env.get(name, gen.NO_KEY) == gen.NO_KEY, (svc.process(role), name)
            assert ("tokens-public" in volumes) is (role == "api"), svc.process(role)  # only gRPC servers verify
    for name in ("identity-relay", "identity-mailer"):
        assert not {v for v in _volume_names(services[name]) if v.startswith("tokens-")}, name
        assert services[name]["environment"]["AUTH_PRIVATE_KEY"] == gen.NO_KEY
    assert {v for v in _volume_names(services["gateway"]) if v.startswith("tokens-")} == {"tokens-public"}
    for name, svc in services.items():
        if name not in ("keygen",) and name not in {s.process(r) for s in gen.discover_services() for r in s.roles}:
            assert not {v for v in _volume_names(svc) if v.startswith("tokens-access") or v == "tokens-service"}, name


def test_kubernetes_gives_token_keys_only_where_a_process_signs_or_verifies(k8s):
    for build, resources in k8s["builds"].items():
        deployments = _by_kind(resources, "Deployment")
        for svc in gen.discover_services():
            for role in svc.roles:
                pod = deployments[svc.process(role)]["spec"]["template"]["spec"]
                env = {e["name"]: e for e in pod["containers"][0]["env"]}
                for name in gen.SIGNERS:
                    from_secret = "valueFrom" in env.get(name, {})
                    assert from_secret is ((svc.name, role) in gen.SIGNERS[name]), (build, svc.process(role), name)
                    if name in env and not from_secret:
                        assert env[name]["value"] == gen.NO_KEY
                public = [v for v in pod["volumes"] if v.get("configMap", {}).get("name", "").endswith("crm-public-keys")]
                if role == "api":
                    assert [i["key"] for i in public[0]["configMap"]["items"]] == ["access.pub", "service.pub"]
                else:
                    assert not public, (build, svc.process(role))
        gw = deployments["gateway"]["spec"]["template"]["spec"]
        [public] = [v for v in gw["volumes"] if "configMap" in v]
        assert [i["key"] for i in public["configMap"]["items"]] == ["access.pub"]
        assert not any("valueFrom" in e for e in gw["containers"][0]["env"])


# --- Kafka: a SCRAM user per service, ACLs per topic (crm_platform.kafka_acls, deploy/broker.py) -----

def _consumed_by_code(service: str) -> set[str]:
    """The topics of the events a service's entrypoints/consumer.py names (its subscriptions, and records'
    cache listener), read from the source: independent of the ACL table."""
    import ast
    import importlib

    from crm_platform.topics import topic_of

    path = ROOT / f"services/{service}/src/crm_{service}/entrypoints/consumer.py"
    if not path.exists():
        return set()
    tree = ast.parse(path.read_text())
    aliases = {a.asname or a.name: importlib.import_module(f"{node.module}.{a.name}") for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module and ".events." in node.module for a in node.names}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            cls = getattr(aliases[node.value.id], node.attr, None)
            if cls is not None and hasattr(cls, "DESCRIPTOR"):
                found.add(topic_of(cls))
    return found


def _published_by_code(service: str) -> set[str]:
    """The topics a service's relay publishes to (`TOPICS` of its service layer)."""
    import importlib

    return set(importlib.import_module(f"crm_{service}.service_layer.services").TOPICS)


def test_the_acl_table_matches_what_each_service_produces_and_consumes():
    from crm_platform import kafka_acls
    from crm_platform.topics import DLQ_SUFFIX, all_topics

    services = [s.name for s in gen.discover_services()]
    assert set(kafka_acls.CONSUMES) == set(services)
    table = kafka_acls.acls(services)
    for svc in services:
        published, consumed = _published_by_code(svc), _consumed_by_code(svc)
        assert set(kafka_acls.consumed(svc)) == consumed, svc
        assert set(kafka_acls.produced(svc)) == published, svc
        for topic in all_topics():
            assert kafka_acls.may(table, svc, "write", topic) is (topic in published), (svc, "write", topic)
            assert kafka_acls.may(table, svc, "read", topic) is (topic in consumed), (svc, "read", topic)
            # its dead letters: the .dlq of what it consumes (and its own topics' prefix covers theirs)
            assert kafka_acls.may(table, svc, "write", topic + DLQ_SUFFIX) is (
                topic in consumed or topic in published), (svc, topic)
            assert kafka_acls.may(table, svc, "create", topic)  # the topics init container
        assert kafka_acls.may(table, svc, "create", f"crm._relay.{svc}")  # its relay's marker topic
        groups = {a.name for a in table if a.principal == f"User:{svc}" and a.resource == "group"}
        assert groups == {svc}


def test_compose_runs_kafka_with_a_scram_user_per_service(compose_config):
    from crm_platform import kafka_acls

    services = compose_config["services"]
    for node in gen.kafka_nodes():
        env = services[node]["environment"]
        protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
        assert set(protocols.values()) == {"SASL_PLAINTEXT"}, node  # no listener without authentication
        assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
        assert "SCRAM-SHA-512" in env["KAFKA_SASL_ENABLED_MECHANISMS"].split(",")
        assert env["KAFKA_OPTS"]  # the image refuses SASL listeners without it
        # the image's env-to-property conversion drops a value holding "=" (the JAAS settings are in a file)
        assert not [k for k, v in env.items() if k.startswith("KAFKA_") and "=" in str(v)], node
        mounts = {m["target"] if isinstance(m, dict) else m.split(":")[1]: m for m in services[node]["volumes"]}
        assert "/mnt/shared/config/server.properties" in mounts
    jaas = (ROOT / "deploy/compose/kafka-sasl.properties").read_text()
    for listener, mechanism in (("client", "plain"), ("client", "scram-sha-512"), ("controller", "plain")):
        assert f"listener.name.{listener}.{mechanism}.sasl.jaas.config=" in jaas
    assert f'password="{gen.broker.ADMIN_PASSWORD}"' in jaas
    assert f'password="{gen.broker.ADMIN_PASSWORD}"' in (ROOT / "deploy/compose/kafka-admin.properties").read_text()
    users = " ".join(services["kafka-users"]["command"])
    for svc in gen.discover_services():
        assert f"--entity-name {svc.name}" in users and f"password={gen.broker.password(svc.name)}]" in users
        for role in svc.roles:
            env = services[svc.process(role)]["environment"]
            assert (env["KAFKA_SECURITY_PROTOCOL"], env["KAFKA_SASL_MECHANISM"]) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
            assert env["KAFKA_SASL_USERNAME"] == svc.name, svc.process(role)
            assert env["KAFKA_SASL_PASSWORD"] == gen.broker.password(svc.name), svc.process(role)
            assert {"kafka-users", "kafka-acls"} <= set(services[svc.process(role)]["depends_on"])
    acls = services["kafka-acls"]
    assert acls["command"] == ["python", "-m", "crm_platform.kafka_acls", "apply"]
    assert acls["environment"]["KAFKA_SASL_USERNAME"] == gen.broker.ADMIN_USER
    assert "gateway" not in {k for k in services["gateway"].get("environment", {}) if k.startswith("KAFKA_SASL")}
    assert set(kafka_acls.CONSUMES) == {s.name for s in gen.discover_services()}


def test_kubernetes_gives_each_pod_its_own_kafka_user(k8s):
    for build, resources in k8s["builds"].items():
        config = config_of(resources)
        assert (config["KAFKA_SECURITY_PROTOCOL"], config["KAFKA_SASL_MECHANISM"]) == ("SASL_SSL", "SCRAM-SHA-512")
        deployments = _by_kind(resources, "Deployment")
        for svc in gen.discover_services():
            for role in svc.roles:
                pod = deployments[svc.process(role)]["spec"]["template"]["spec"]
                for c in [*pod["containers"], *pod["initContainers"]]:
                    env = {e["name"]: e for e in c["env"]}
                    assert env["KAFKA_SASL_USERNAME"]["value"] == svc.name, (build, svc.process(role), c["name"])
                    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == f"kafka-password-{svc.name}"
        jobs = _by_kind(resources, "Job")
        assert {n.split("-", 1)[-1] if n.startswith("crm-") else n for n in jobs} >= {"kafka-users", "kafka-acls"}
        [acls] = [j for n, j in jobs.items() if n.endswith("kafka-acls")]
        assert acls["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "-m", "crm_platform.kafka_acls",
                                                                                "apply"]
        [users] = [j for n, j in jobs.items() if n.endswith("kafka-users")]
        script = users["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        for svc in gen.discover_services():
            assert f"--entity-name {svc.name}" in script
        gw = deployments["gateway"]["spec"]["template"]["spec"]["containers"][0]
        assert not {e["name"] for e in gw["env"]} & {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"}
