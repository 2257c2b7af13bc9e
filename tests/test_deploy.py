"""Containers and deployment: docker-compose.yml and deploy/ are valid and match the code.

- the generated files are what `deploy/generate.py` makes from the code now;
- docker-compose 1.29 accepts docker-compose.yml (`config -q`);
- kustomize renders deploy/base and every overlay, and every resource is valid for the newest
  Kubernetes version kubernetes-validate knows (strict: unknown fields fail);
- drift: every service and process type (the ROLES keys of `services/*/src/crm_*/__main__.py`) runs in
  compose and in every overlay, and nothing runs there that the code does not have;
- every setting a service requires reaches each of its processes, in compose and in Kubernetes.

The tools live in their own virtualenvs made by `make venv` (.tools/compose, .tools/k8s).
"""

from __future__ import annotations

import fnmatch
import json
import pathlib
import re
import subprocess
import sys

import pytest

from tests.support.deploy import COMPOSE, COMPOSE_PY, ROOT, gen, tool as _tool


def code_processes(root: pathlib.Path = ROOT) -> set[tuple[str, str]]:
    """(module, role) of every process type the code declares."""
    return {(svc.module, role) for svc in gen.discover_services(root) for role in svc.roles}


def service_processes(commands: dict[str, list[str]]) -> set[tuple[str, str]]:
    """(module, role) of the commands that run `python -m crm_<svc> <role>` (crm_platform's tools, such as
    the topics command, are not services)."""
    found = set()
    for cmd in commands.values():
        if (len(cmd) >= 4 and cmd[:2] == ["python", "-m"] and cmd[2].startswith("crm_")
                and not cmd[2].startswith("crm_platform")):
            found.add((cmd[2], cmd[3]))
    return found


def drift(code: set, deployed: set) -> list[str]:
    return ([f"{m} {r}: in the code, not deployed" for m, r in sorted(code - deployed)]
            + [f"{m} {r}: deployed, not in the code" for m, r in sorted(deployed - code)])


# --- generated files ------------------------------------------------------------------------------

def test_generated_files_match_the_code():
    files = gen.render()
    stale = [p for p, text in files.items() if not (ROOT / p).exists() or (ROOT / p).read_text() != text]
    extra = [str(p.relative_to(ROOT)) for p in (ROOT / "deploy" / "base").rglob("*.yaml")
             if str(p.relative_to(ROOT)) not in files]
    assert not stale + extra, f"run `.venv/bin/python deploy/generate.py`: stale {stale}, not generated {extra}"


def test_discovery_finds_new_services_and_roles(tmp_path):
    """A service written tomorrow is picked up from its __main__.py, without importing it."""
    (tmp_path / "services/platform/src/crm_platform").mkdir(parents=True)
    (tmp_path / "services/platform/src/crm_platform/runtime.py").write_text(
        "class ServiceSettings:\n    database_url: str = setting('DATABASE_URL')\n")
    pkg = tmp_path / "services/quotes/src/crm_quotes"
    pkg.mkdir(parents=True)
    (pkg / "__main__.py").write_text("import x\nROLES = {'api': api, 'consumer': consumer, 'sweeper': sweeper}\n")
    (pkg / "config.py").write_text("X = setting('QUOTE_LIMIT', 5, int)\nY = setting('FX_KEY', shared=True, "
                                   "secret=True)\n")
    (tmp_path / "services/empty/src/crm_empty").mkdir(parents=True)  # no __main__: not a service
    [svc] = gen.discover_services(tmp_path)
    assert (svc.name, svc.roles) == ("quotes", ("api", "consumer", "sweeper"))
    assert {(s.env, s.required, s.shared, s.secret) for s in svc.settings} == {
        ("DATABASE_URL", True, False, False), ("QUOTE_LIMIT", False, False, False), ("FX_KEY", True, True, True)}
    deployed = {("crm_quotes", "api"), ("crm_quotes", "consumer"), ("crm_old", "api")}
    assert drift(code_processes(tmp_path), deployed) == ["crm_quotes sweeper: in the code, not deployed",
                                                          "crm_old api: deployed, not in the code"]
    with pytest.raises(SystemExit, match="FX_KEY has no entry in SECRETS"):
        gen.check_coverage([svc], {})


def test_yaml_writer_round_trips():
    """The generator's YAML writer, read back by PyYAML (from the compose tools venv)."""
    doc = {"a": {"b": [1, "2", "x: y", True, "yes", None, {"c": "multi\nline\n"}], "e": {}, "f": []},
           "g.h/i": "0.0.0.0:80"}
    text = gen.to_yaml(doc)
    parsed = subprocess.run([_tool(COMPOSE_PY), "-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), "
                             "sys.stdout)"], input=text, capture_output=True, text=True, check=True)
    assert json.loads(parsed.stdout) == doc


# --- docker-compose -------------------------------------------------------------------------------

def test_compose_config_is_valid():
    out = subprocess.run([_tool(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_compose_runs_every_process_type_of_the_code(compose_config):
    services = compose_config["services"]
    commands = {name: s.get("command", []) for name, s in services.items()}
    problems = drift(code_processes(), service_processes(commands))
    assert not problems, problems
    assert commands["gateway"] == ["gunicorn", "-c", "gateway/gunicorn.conf.py"]
    assert services["gateway"]["ports"][0]["published"] in (8080, "8080")
    for sim in gen.discover_simulators():
        assert commands[sim.name] == ["python", "-m", sim.module]
    for infra in ("postgres", "db-init", *gen.kafka_nodes(), "kafka-init", "mailpit", "keygen"):
        assert infra in services, infra


def test_compose_runs_the_entry_points_make_run_runs(compose_config):
    """Each Procfile process (what `make run` starts) runs in compose with the same command: a
    service's `all` as one container per role, the gateway and simulators as they are; the broker and
    the mail catcher are replaced by Kafka and mailpit."""
    commands = {name: s.get("command", []) for name, s in compose_config["services"].items()}
    roles = {svc.module: svc.roles for svc in gen.discover_services()}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, cmd = line.partition(":")
        argv = [a.removeprefix(".venv/bin/") for a in cmd.split()]
        if argv[:2] == ["python", "-m"] and argv[2] in roles:
            assert argv[3:] == ["all"], line
            assert {(argv[2], r) for r in roles[argv[2]]} <= service_processes(commands), line
        elif argv[:2] == ["python", "-m"] or argv[0] == "gunicorn":
            assert argv in commands.values(), f"{line}: no compose service runs {argv}"
        else:
            assert name.strip() in ("broker", "mail"), f"{line}: not in docker-compose.yml"
    assert {*gen.kafka_nodes(), "mailpit"} <= set(commands)


def test_compose_health_checks_and_start_order(compose_config):
    services = compose_config["services"]
    one_shots = {n for n, s in services.items() if s.get("restart") == "no"}
    assert one_shots == {"db-init", "kafka-init", "kafka-users", "kafka-acls", "keygen"}
    for name, svc in services.items():
        if name not in one_shots:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for dep, cond in svc.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dep in one_shots else "service_healthy"
            assert cond["condition"] == expected, (name, dep)
    for svc in gen.discover_services():
        for role in svc.roles:
            deps = services[svc.process(role)]["depends_on"]
            assert {"db-init", "kafka-init", "kafka-users", "kafka-acls", "keygen"} <= set(deps), svc.process(role)
    assert {f"{s.name}-api" for s in gen.discover_services() if "api" in s.roles} <= set(
        services["gateway"]["depends_on"])


def test_compose_databases(compose_config):
    services = compose_config["services"]
    names = [s.name for s in gen.discover_services()]
    assert services["db-init"]["environment"]["CRM_DATABASES"].split(",") == names
    for svc in gen.discover_services():
        for role in svc.roles:
            url = services[svc.process(role)]["environment"][f"{svc.name.upper()}_DATABASE_URL"]
            assert url.endswith(f"@postgres:5432/{svc.name}"), url


def test_compose_runs_a_replicated_kafka_and_creates_every_topic_with_its_dead_letter_topic(compose_config):
    """Three KRaft nodes; kafka-init runs the shared topics command (every contract topic and its .dlq,
    `crm_platform.topics`) with 3 replicas and min.insync.replicas 2, and the processes' own topic
    creation uses the same settings; the idempotent producer is on (Apache Kafka supports it)."""
    services = compose_config["services"]
    nodes = gen.kafka_nodes()
    assert len(nodes) == 3
    voters = {services[n]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for n in nodes}
    assert voters == {",".join(f"{i}@{n}:9093" for i, n in enumerate(nodes, 1))}
    for n in nodes:
        env = services[n]["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert int(env["KAFKA_NUM_PARTITIONS"]) >= 6
    init = services["kafka-init"]
    assert init["command"][:4] == ["python", "-m", "crm_platform.topics", "create"]
    assert int(init["command"][init["command"].index("--partitions") + 1]) >= 6
    assert set(init["depends_on"]) == set(nodes)
    env = init["environment"]
    assert (env["KAFKA_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == ",".join(f"{n}:9092" for n in nodes)
    for svc in gen.discover_services():
        for role in svc.roles:
            env = services[svc.process(role)]["environment"]
            assert (env["KAFKA_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
            assert env["KAFKA_IDEMPOTENT_PRODUCER"] == "1"
            assert "kafka-init" in services[svc.process(role)]["depends_on"]
    # what the command creates: the topics the services publish to (their contracts), each with its .dlq
    from crm_platform.topics import all_topics, wanted_topics

    assert sorted(wanted_topics()) == sorted([*all_topics(), *(f"{t}.dlq" for t in all_topics())])
    assert all_topics()
def test_compose_gives_every_process_its_required_settings(compose_config):
    services = compose_config["services"]
    for svc in gen.discover_services():
        for role in svc.roles:
            env = services[svc.process(role)]["environment"]
            for s in svc.settings:
                name = s.env if s.shared else f"{svc.name.upper()}_{s.env}"
                if s.required:
                    assert env.get(name), f"{svc.process(role)}: {name} is required but not set"
                if s.secret and (s.required or gen.process_secrets(svc, role).get(s.env, "") is None):
                    assert name in env, f"{svc.process(role)}: secret {name} not set"
            others = {n for o in gen.discover_services() if o is not svc for n in gen.secrets_of(o)} - set(
                gen.secrets_of(svc))
            assert not others & set(env), f"{svc.process(role)} gets another service's secrets: {others & set(env)}"
    gw = services["gateway"]["environment"]
    for s in gen.GATEWAY_SETTINGS():
        assert not s.required or gw.get(s.env), f"gateway: {s.env}"
    assert gw["GATEWAY_BIND"] == "0.0.0.0:8080"


# --- kubernetes -----------------------------------------------------------------------------------

def config_of(resources: list[dict]) -> dict:
    return next(r for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"] == "crm-config")["data"]


def _by_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def test_every_manifest_is_valid_for_current_kubernetes(k8s):
    assert tuple(int(x) for x in k8s["kubernetes_version"].split(".")[:2]) >= (1, 33)
    assert set(k8s["builds"]) >= {"base", "overlays/dev", "overlays/prod"}


def test_kubernetes_runs_every_process_type_of_the_code(k8s):
    for build, resources in k8s["builds"].items():
        deployments = _by_kind(resources, "Deployment")
        commands = {n: d["spec"]["template"]["spec"]["containers"][0]["command"] for n, d in deployments.items()}
        problems = drift(code_processes(), service_processes(commands))
        assert not problems, (build, problems)
        assert commands["gateway"] == ["gunicorn", "-c", "gateway/gunicorn.conf.py"]
        for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount"):
            assert set(_by_kind(resources, kind)) == set(deployments), (build, kind)


def test_kubernetes_pods_are_locked_down_probed_and_sized(k8s):
    for build, resources in k8s["builds"].items():
        for name, dep in _by_kind(resources, "Deployment").items():
            pod = dep["spec"]["template"]["spec"]
            [c] = pod["containers"]
            assert pod["serviceAccountName"] == name and pod["automountServiceAccountToken"] is False
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"] and not sc["allowPrivilegeEscalation"]
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert c["resources"]["requests"] and c["resources"]["limits"], (build, name)
            assert "replicas" not in dep["spec"], f"{name}: the HPA owns replicas"
            role = dep["metadata"]["labels"]["app.kubernetes.io/component"]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                p = c[probe]
                if role == "gateway":
                    assert p["httpGet"]["port"] == "http", (name, probe)
                elif gen.health_bindable(gen.discover_services()):
                    assert p["httpGet"]["port"] == "http", (name, probe)
                    assert config_of(resources)["HEALTH_HOST"] == "0.0.0.0"
                else:  # the health port listens on 127.0.0.1 only: probed from inside the container
                    assert p["exec"]["command"][:3] == ["python", "/app/deploy/probe.py", "http"], (name, probe)
        for name, hpa in _by_kind(resources, "HorizontalPodAutoscaler").items():
            if name.endswith("-consumer"):
                assert hpa["spec"]["maxReplicas"] <= gen.PARTITIONS, "consumers beyond the partitions idle"


def test_liveness_is_the_process_and_readiness_its_dependencies(k8s, compose_config):
    """Every service process, the gRPC APIs included, is probed on its health port: liveness on /healthz
    (the process and its worker threads, `crm_platform.health`), readiness on /readyz (its database and
    loops), so a database outage takes pods out of their Service without restarting them. compose's
    health checks are readiness."""
    for build, resources in k8s["builds"].items():
        for name, dep in _by_kind(resources, "Deployment").items():
            if dep["metadata"]["labels"]["app.kubernetes.io/component"] == "gateway":
                continue
            [c] = dep["spec"]["template"]["spec"]["containers"]
            paths = {probe: (c[probe].get("httpGet") or {}).get("path") or c[probe]["exec"]["command"][-1]
                     for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
            assert paths["livenessProbe"].endswith("/healthz") and paths["startupProbe"].endswith("/healthz"), name
            assert paths["readinessProbe"].endswith("/readyz"), (build, name)
            live = c["livenessProbe"]
            assert live["periodSeconds"] * live["failureThreshold"] <= 60, "a dead thread restarts within a minute"
    for svc in gen.discover_services():
        for role in svc.roles:
            test = compose_config["services"][svc.process(role)]["healthcheck"]["test"]
            assert test[-2:] == ["http", f"http://127.0.0.1:{gen.HEALTH_PORT}/readyz"], svc.process(role)


def test_kubernetes_creates_every_topic_replicated_before_a_process_starts(k8s):
    """Each service pod's `topics` init container runs the shared topics command with the image and
    crm-config of its process: 3 replicas, min.insync.replicas 2, and the idempotent producer on."""
    for build, resources in k8s["builds"].items():
        config = config_of(resources)
        assert (config["KAFKA_REPLICATION_FACTOR"], config["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2"), build
        assert config["KAFKA_IDEMPOTENT_PRODUCER"] == "1", build
        for name, dep in _by_kind(resources, "Deployment").items():
            pod = dep["spec"]["template"]["spec"]
            if dep["metadata"]["labels"]["app.kubernetes.io/component"] == "gateway":
                assert "initContainers" not in pod  # the gateway uses no topic
                continue
            [init] = pod["initContainers"]
            assert init["name"] == "topics" and init["command"][:4] == ["python", "-m", "crm_platform.topics",
                                                                       "create"], (build, name)
            assert init["image"] == pod["containers"][0]["image"], (build, name)
            assert init["envFrom"] == [{"configMapRef": {"name": "crm-config"}}]
            sc = init["securityContext"]
            assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"] and not sc["allowPrivilegeEscalation"]


def test_one_replica_workers_stay_one_and_are_recreated_not_rolled(k8s):
    """A worker that must run alone (HPA max 1, e.g. identity's mailer, which reads unsent mails without
    claiming them) keeps max 1 in every overlay, and its Deployment uses `Recreate`: a RollingUpdate with
    maxSurge would run the old and the new pod together for a while."""
    for build, resources in k8s["builds"].items():
        hpas = _by_kind(resources, "HorizontalPodAutoscaler")
        assert hpas["identity-mailer"]["spec"]["maxReplicas"] == 1, build
        for name, dep in _by_kind(resources, "Deployment").items():
            role = dep["metadata"]["labels"]["app.kubernetes.io/component"]
            if role not in ("api", "consumer", "relay", "gateway"):  # docs/deployment.md: "one replica"
                assert hpas[name]["spec"]["maxReplicas"] == 1, (build, name)
            if hpas[name]["spec"]["maxReplicas"] == 1:
                assert dep["spec"]["strategy"] == {"type": "Recreate"}, (build, name)
            else:
                assert dep["spec"]["strategy"]["type"] == "RollingUpdate", (build, name)


def test_kubernetes_gives_every_process_its_required_settings(k8s):
    for build, resources in k8s["builds"].items():
        config = _by_kind(resources, "ConfigMap")["crm-config"]["data"]
        secret_keys = set(_by_kind(resources, "Secret")["crm-secrets"]["stringData"])
        deployments = _by_kind(resources, "Deployment")
        for svc in gen.discover_services():
            for role in svc.roles:
                c = deployments[svc.process(role)]["spec"]["template"]["spec"]["containers"][0]
                env = {e["name"]: e for e in c.get("env", [])}
                for e in env.values():
                    if "valueFrom" in e:
                        assert e["valueFrom"]["secretKeyRef"]["key"] in secret_keys, (build, e)
                for s in svc.settings:
                    name = s.env if s.shared else f"{svc.name.upper()}_{s.env}"
                    if s.secret and name in env and env[name].get("value") != gen.NO_KEY:
                        assert "secretKeyRef" in env[name]["valueFrom"], (build, name)
                    elif s.secret:  # a private key this process type never signs with (test_keys_*)
                        assert (svc.name, role) not in gen.SIGNERS[name], (build, name)
                    elif s.required:
                        assert name in env or name in config, f"{build} {svc.process(role)}: {name} missing"
        assert all(v.startswith("REPLACE_ME") or "REPLACE_ME" in v for v in
                   _by_kind(resources, "Secret")["crm-secrets"]["stringData"].values()), "placeholders only"


# --- the image ------------------------------------------------------------------------------------

def _stages(dockerfile: str) -> list[tuple[str, str]]:
    """(FROM line, body) of each stage."""
    text = re.sub(r"\\\n", " ", dockerfile)
    parts = re.split(r"^FROM ", text, flags=re.M)
    return [(p.splitlines()[0], p) for p in parts[1:]]


def test_dockerfile_final_stage_is_slim_and_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    stages = _stages(text)
    assert len(stages) >= 2, "multi-stage"
    final = stages[-1][1]
    assert "PYTHONUNBUFFERED=1" in final
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert not re.search(r"apt-get install|build-essential|gcc", final), "no build tools in the final image"
    assert "COPY --from=build /opt/venv" in final


def test_dockerfile_builds_the_web_ui_into_the_gateway():
    """The UI is git-ignored build output: the image must build it (in a stage of its own)."""
    if not (ROOT / "web" / "package.json").exists():
        pytest.skip("no web UI in this checkout")
    stages = _stages((ROOT / "Dockerfile").read_text())
    web = [body for head, body in stages if re.match(r"node:\S+ AS web", head)]
    assert web and "npm ci" in web[0] and "npm run build" in web[0]
    assert "COPY --from=web /src/gateway/src/crm_gateway/web_dist /app/gateway/src/crm_gateway/web_dist" in (
        stages[-2][1])
    assert "node" not in stages[-1][0] and "npm" not in stages[-1][1]


def _imports(path: pathlib.Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_image_installs_every_package_the_running_code_imports():
    """deploy/image-requirements.txt (with its dependencies) covers every third-party import of the
    services, the gateway, the simulators and the probe; each entry is pinned in requirements.txt."""
    from importlib import metadata

    from packaging.requirements import Requirement

    wanted = [_norm(line.split("#")[0].strip()) for line in
              (ROOT / "deploy" / "image-requirements.txt").read_text().splitlines() if line.split("#")[0].strip()]
    pinned = {_norm(line.split("==")[0]) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if "==" in line}
    assert set(wanted) <= pinned, f"not pinned in requirements.txt: {set(wanted) - pinned}"
    closure, todo = set(), list(wanted)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_norm(req.name))
    files = [*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("gateway/src/**/*.py"),
             *ROOT.glob("simulators/*/src/**/*.py"), ROOT / "gateway/gunicorn.conf.py",
             ROOT / "deploy/probe.py", ROOT / "deploy/keygen.py"]
    dists = metadata.packages_distributions()
    missing = {}
    for path in files:
        for mod in _imports(path) - set(sys.stdlib_module_names):
            names = {_norm(d) for d in dists.get(mod, [mod])}
            if any(n.startswith(("crm-", "click-simulator")) for n in names):
                continue  # our own packages, installed from the source
            if not names & closure:
                missing.setdefault(mod, str(path.relative_to(ROOT)))
    assert not missing, f"imported by the code but not installed in the image: {missing}"
    assert "psycopg" in closure  # loaded by SQLAlchemy for postgresql+psycopg:// URLs, never imported directly


def test_image_contains_what_the_commands_use():
    """Files the compose/Kubernetes commands name are in the build context (.dockerignore)."""
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]

    def excluded(rel: str) -> bool:
        parts = rel.split("/")
        return any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(parts[0], pat)
                   or fnmatch.fnmatch("/".join(parts[:2]), pat) or ("**/" in pat and any(
                       fnmatch.fnmatch(p, pat.split("**/")[1]) for p in parts)) for pat in ignored)

    needed = ["deploy/probe.py", "deploy/keygen.py", "gateway/gunicorn.conf.py", "requirements.txt",
              "protos/gen/python/pyproject.toml", "gateway/pyproject.toml"]
    needed += [f"services/{s.name}/migrations" for s in gen.discover_services()]
    needed += [f"services/{s.name}/pyproject.toml" for s in gen.discover_services()]
    for rel in needed:
        assert (ROOT / rel).exists(), rel
        assert not excluded(rel), f"{rel} is excluded from the image by .dockerignore"


# --- gRPC mutual TLS (crm_platform.tls) -----------------------------------------------------------
