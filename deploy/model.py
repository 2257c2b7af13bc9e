"""What the code declares, and the values the deployment gives it: the services and simulators found in
the code, their settings, the shared configuration, the secrets, gRPC certificates and token keys per
process (`deploy/generate.py` writes the files from these).
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import sys

# Loaded by deploy/generate.py (`_sibling`) under the name crm_deploy_<file>: deploy/ is not on sys.path, so
# its modules import each other by those names, after generate.py has loaded them in order.
broker = sys.modules["crm_deploy_broker"]

ROOT = pathlib.Path(__file__).resolve().parent.parent

IMAGE = "crm"                 # one image, a command per process type (docs/deployment.md)
COMPOSE_IMAGE = "crm:local"
GRPC_PORT = 50051             # every gRPC API listens here inside its container / pod
HEALTH_PORT = 8081            # <SVC>_HEALTH_PORT: /healthz /readyz /metrics of every service process
GATEWAY_PORT = 8080
PARTITIONS = 6                # partitions of every topic = the most consumers of one group that do work
KAFKA_NODES = 3               # compose's Apache Kafka cluster (KRaft, each node broker and controller)
REPLICATION = ("3", "2")      # KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS of every topic (the dev broker: 1, 1)
TOPICS_COMMAND = ["python", "-m", "crm_platform.topics", "create", "--partitions", str(PARTITIONS)]
KEYS_DIR = "/var/lib/crm/keys"        # compose: written by the keygen one-shot
K8S_KEYS_DIR = "/etc/crm/keys"        # kubernetes: the crm-public-keys ConfigMap mounted read-only
DB_PASSWORD = "crm-dev-only"          # compose only: every service database's password
TLS_DIR = "/var/lib/crm/tls"          # compose: the process's own gRPC certificate volume (keygen writes it)
K8S_TLS_DIR = "/etc/crm/tls"          # kubernetes: the process's own crm-grpc-tls-<name> Secret
KEYGEN_DIR = "/var/lib/crm/keygen"    # compose's keygen (root): every key volume, under tokens/ and tls/
APP_UID = "10001:10001"               # the image's user `crm` (Dockerfile)



def kafka_nodes() -> list[str]:
    """compose's Kafka nodes."""
    return broker.nodes(KAFKA_NODES)


def health_bindable(services: list[Service]) -> bool:
    """Can the health HTTP server listen on the pod address (the platform declares HEALTH_HOST)?

    Without that setting it binds 127.0.0.1, which the kubelet cannot reach: non-gRPC processes are
    then probed from inside the container (`python deploy/probe.py http ...`, an exec probe) instead
    of with native httpGet probes.
    """
    return any(s.env == "HEALTH_HOST" for svc in services for s in svc.settings)


# ---------------------------------------------------------------------------------------------
# What the code declares
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Setting:
    env: str
    required: bool
    shared: bool
    secret: bool


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    roles: tuple[str, ...]
    settings: tuple[Setting, ...]

    @property
    def module(self) -> str:
        return f"crm_{self.name}"

    def process(self, role: str) -> str:
        return f"{self.name}-{role}"


@dataclasses.dataclass(frozen=True)
class Simulator:
    name: str
    module: str
    port: int


def _roles(main: pathlib.Path) -> tuple[str, ...] | None:
    """The keys of the module-level `ROLES = {...}` (or `dict(...)`) of a service's __main__.py."""
    tree = ast.parse(main.read_text(), str(main))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "ROLES" for t in targets) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Dict):
                return tuple(k.value for k in value.keys if isinstance(k, ast.Constant))
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "dict":
                return tuple(k.arg for k in value.keywords if k.arg)
            raise ValueError(f"{main}: ROLES is not a literal dict")
    return None


def settings_in(path: pathlib.Path, class_name: str | None = None) -> tuple[Setting, ...]:
    """Every `setting("NAME", [default], ...)` declared in a file (or in one class of it)."""
    if not path.exists():
        return ()
    tree = ast.parse(path.read_text(), str(path))
    scope = tree
    if class_name:
        scope = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == class_name)
    found = []
    for node in ast.walk(scope):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setting" and node.args
                and isinstance(node.args[0], ast.Constant)):
            kw = {k.arg: k.value for k in node.keywords}
            flag = lambda name: isinstance(kw.get(name), ast.Constant) and bool(kw[name].value)  # noqa: E731
            found.append(Setting(node.args[0].value, required=len(node.args) < 2 and "default" not in kw,
                                 shared=flag("shared"), secret=flag("secret")))
    return tuple(found)


def discover_services(root: pathlib.Path = ROOT) -> list[Service]:
    """The services of the code: `services/<svc>/src/crm_<svc>/__main__.py` with a ROLES dict."""
    base = settings_in(root / "services/platform/src/crm_platform/runtime.py", "ServiceSettings")
    found = []
    for main in sorted(root.glob("services/*/src/crm_*/__main__.py")):
        name = main.parent.name.removeprefix("crm_")
        if main.parents[2].name != name:
            continue
        roles = _roles(main)
        if roles:
            own = settings_in(main.parent / "config.py")
            found.append(Service(name, roles, base + own))
    return found


def discover_simulators(root: pathlib.Path = ROOT) -> list[Simulator]:
    """`simulators/<name>` with an importable package that has a __main__.py."""
    ports = {"click": 8090}
    sims = []
    for main in sorted(root.glob("simulators/*/src/*/__main__.py")) + sorted(root.glob("simulators/*/*/__main__.py")):
        name = main.parents[2].name if main.parent.parent.name == "src" else main.parents[1].name
        if main.parent.name.endswith(".egg-info") or any(s.name == name for s in sims):
            continue
        sims.append(Simulator(name, main.parent.name, ports.get(name, 8090 + len(sims))))
    return sims


GATEWAY_SETTINGS = lambda root=ROOT: settings_in(root / "gateway/src/crm_gateway/config.py")  # noqa: E731


# ---------------------------------------------------------------------------------------------
# Configuration values: compose (working development values) and kubernetes (placeholders)
# ---------------------------------------------------------------------------------------------

def shared_config(services: list[Service], sims: list[Simulator]) -> dict[str, tuple[str, str]]:
    """Non-secret settings every process gets: name -> (compose value, kubernetes value)."""
    click = next((s for s in sims if s.name == "click"), None)
    cfg = {
        "KAFKA_BOOTSTRAP_SERVERS": (",".join(f"{n}:9092" for n in kafka_nodes()), "kafka:9092"),
        # Apache Kafka supports the idempotent producer (Tansu, `make run`'s broker, does not)
        "KAFKA_IDEMPOTENT_PRODUCER": ("1", "1"),
        # one SCRAM user per service (KAFKA_SASL_USERNAME/PASSWORD per process), ACLs per topic (deploy/broker.py)
        "KAFKA_SECURITY_PROTOCOL": ("SASL_PLAINTEXT", "SASL_SSL"),
        "KAFKA_SASL_MECHANISM": (broker.MECHANISM, broker.MECHANISM),
        "KAFKA_REPLICATION_FACTOR": (REPLICATION[0], REPLICATION[0]),
        "KAFKA_MIN_INSYNC_REPLICAS": (REPLICATION[1], REPLICATION[1]),
        "AUTH_PUBLIC_KEY": (f"{KEYS_DIR}/public/access.pub", f"{K8S_KEYS_DIR}/access.pub"),
        "SERVICE_TOKEN_PUBLIC_KEY": (f"{KEYS_DIR}/public/service.pub", f"{K8S_KEYS_DIR}/service.pub"),
        # gRPC mutual TLS (crm_platform.tls): the CA beside each process's own certificate
        "GRPC_TLS_CA": (f"{TLS_DIR}/ca.crt", f"{K8S_TLS_DIR}/ca.crt"),
        "LOG_LEVEL": ("INFO", "INFO"),
        "AUTO_MIGRATE": ("true", "true"),
        "PUBLIC_URL": (f"http://localhost:{GATEWAY_PORT}", "https://crm.example.com"),
        "SMTP_HOST": ("mailpit", "smtp.example.com"),
        "SMTP_PORT": ("1025", "25"),
        "MAIL_FROM": ("CRM <no-reply@crm.local>", "CRM <no-reply@crm.example.com>"),
        "PYTHONUNBUFFERED": ("1", "1"),
        # compose is a development system (dev CLICK secret, no Redis); kubernetes refuses to start on a
        # placeholder, so the operator names the Redis every gateway replica shares its rate limits through
        "CRM_ENV": ("development", "production"),
        "REDIS_URL": ("", "redis://REPLACE_ME:6379/0"),
        "GATEWAY_TRUSTED_PROXIES": ("0", "1"),  # behind the ingress: its X-Forwarded-For names the client
        "CLICK_SERVICE_ID": ("12345", "REPLACE_ME"),
        "CLICK_MERCHANT_ID": ("54321", "REPLACE_ME"),
        "CLICK_MERCHANT_USER_ID": ("777", "REPLACE_ME"),
    }
    if click:
        cfg["CLICK_PAY_URL"] = (f"http://localhost:{click.port}/services/pay", "https://my.click.uz/services/pay")
        cfg["CLICK_API_URL"] = (f"http://{click.name}:{click.port}/v2/merchant", "https://api.click.uz/v2/merchant")
    if health_bindable(services):
        cfg["HEALTH_HOST"] = ("0.0.0.0", "0.0.0.0")
    for svc in services:
        if "api" in svc.roles:
            addr = f"{svc.process('api')}:{GRPC_PORT}"
            cfg[f"{svc.name.upper()}_GRPC_ADDR"] = (addr, addr)
    return dict(sorted(cfg.items()))


# Secret settings: name -> (compose value, kubernetes Secret key). Kubernetes values are placeholders.
SECRETS = {
    "AUTH_PRIVATE_KEY": (f"{KEYS_DIR}/access/access.pem", "auth-private-key"),
    "SERVICE_TOKEN_PRIVATE_KEY": (f"{KEYS_DIR}/service/service.pem", "service-token-private-key"),
    "CLICK_SECRET_KEY": ("dev-click-secret", "click-secret-key"),
    # per service: {svc} is the service's name (its own SCRAM user's password)
    "KAFKA_SASL_PASSWORD": (broker.password("{svc}"), "kafka-password-{svc}"),
}


def secret_of(name: str, svc: Service) -> tuple[str, str]:
    """(compose value, kubernetes Secret key) of a secret setting for a service's processes."""
    return tuple(v.replace("{svc}", svc.name) for v in SECRETS[name])


# What each simulator reads besides crm.env (compose only: production talks to the real provider).
SIMULATOR_ENV = {
    # CLICK_SIMULATOR_HOST: the address to listen on, for a container (the simulator binds 127.0.0.1
    # until it reads this setting: then billing and the browser cannot reach it in compose).
    "click": {"CLICK_SIMULATOR_HOST": "0.0.0.0", "CLICK_SIMULATOR_PORT": "8090", "CLICK_SECRET_KEY": SECRETS["CLICK_SECRET_KEY"][0],
              "CLICK_CALLBACK_BASE": f"http://gateway:{GATEWAY_PORT}/api/v1/payments/click"},
}


def process_env(svc: Service, role: str) -> dict[str, str]:
    """The per-process settings (prefixed with the service name) in compose."""
    up = svc.name.upper()
    return {f"{up}_DATABASE_URL": f"postgresql+psycopg://{svc.name}:{DB_PASSWORD}@postgres:5432/{svc.name}",
            f"{up}_GRPC_BIND": f"0.0.0.0:{GRPC_PORT}",
            f"{up}_HEALTH_PORT": str(HEALTH_PORT), **tls_env(up, TLS_DIR), "KAFKA_SASL_USERNAME": svc.name}


# ---------------------------------------------------------------------------------------------
# gRPC mutual TLS (crm_platform.tls) and the token keys: what each process mounts
# ---------------------------------------------------------------------------------------------

def tls_env(prefix: str, folder: str) -> dict[str, str]:
    """`<PREFIX>_GRPC_TLS_CERT` / `_KEY`: the process's own certificate (the CA is crm.env's GRPC_TLS_CA)."""
    return {f"{prefix}_GRPC_TLS_CERT": f"{folder}/tls.crt", f"{prefix}_GRPC_TLS_KEY": f"{folder}/tls.key"}


def tls_certs(services: list[Service]) -> dict[str, list[str]]:
    """The certificates `deploy/keygen.py tls` makes: one per service, its SANs the host of its gRPC API
    (the name its callers dial), and the gateway's (a client only)."""
    certs = {svc.name: [svc.process("api") if "api" in svc.roles else svc.name] for svc in services}
    certs["gateway"] = ["gateway"]
    return certs


def tls_secret(name: str) -> str:
    """The Kubernetes Secret holding one process's certificate, key and the CA."""
    return f"crm-grpc-tls-{name}"


# Which process types sign tokens (crm_platform.auth.TokenSigner), so hold a private key; every other
# process gets none (docs/security.md). Identity's API signs the access tokens (login, refresh, sign-up).
# Service tokens are signed by the callers of crm_platform.service_calls for calls outside a user's
# request: records (its consumer; its API when it serves a service's call, e.g. automation's CreateTasks,
# and asks pipeline or identity on that call) and automation's consumer (the tasks of a run). The relays
# and identity's mailer sign nothing. tests/test_deploy.py checks this against SERVICE_CALLS.
SIGNERS = {"AUTH_PRIVATE_KEY": {("identity", "api")},
           "SERVICE_TOKEN_PRIVATE_KEY": {("records", "api"), ("records", "consumer"), ("automation", "consumer")}}
KEY_FOLDERS = {"AUTH_PRIVATE_KEY": "access", "SERVICE_TOKEN_PRIVATE_KEY": "service"}
NO_KEY = "none"  # crm_platform.auth.NO_KEY: a required private-key setting of a process that signs nothing


def verifies_tokens(role: str) -> bool:
    """Only a gRPC server verifies tokens (its interceptor): only the `api` processes get the public keys."""
    return role == "api"


def process_secrets(svc: Service, role: str) -> dict[str, str | None]:
    """The secret settings a process gets: name -> None (the real value) or NO_KEY (its service's settings
    require the key, but this process type never signs). A private key not required and not used is left out."""
    out: dict[str, str | None] = {}
    for name in secrets_of(svc):
        if name not in SIGNERS or (svc.name, role) in SIGNERS[name]:
            out[name] = None
        elif any(s.env == name and s.required for s in svc.settings):
            out[name] = NO_KEY
    return out


def token_keys(svc: Service, role: str) -> list[str]:
    """Which token key folders a process gets: `public` (both public keys) where it verifies, and the folder
    of each private key it signs with (`access`: AUTH_PRIVATE_KEY, `service`: SERVICE_TOKEN_PRIVATE_KEY)."""
    private = [KEY_FOLDERS[n] for n, v in process_secrets(svc, role).items() if n in KEY_FOLDERS and v is None]
    return (["public"] if verifies_tokens(role) else []) + private


def keygen_command(services: list[Service]) -> list[str]:
    """compose's keygen: the token key pairs, then the gRPC CA and every certificate, each in its volume."""
    certs = " ".join(f"--cert {name}={','.join(hosts)}" for name, hosts in tls_certs(services).items())
    return ["sh", "-c", f"python /app/deploy/keygen.py tokens {KEYGEN_DIR}/tokens --owner {APP_UID} && "
                        f"python /app/deploy/keygen.py tls {KEYGEN_DIR}/tls --owner {APP_UID} {certs}"]


def keygen_volumes(services: list[Service]) -> list[str]:
    return ([f"tokens-{k}:{KEYGEN_DIR}/tokens/{k}" for k in ("public", "access", "service")]
            + [f"tls-{name}:{KEYGEN_DIR}/tls/{name}" for name in ["ca", *tls_certs(services)]])


def process_volumes(tls_name: str, keys: list[str]) -> list[str]:
    """A compose process's volumes, read-only: its own certificate (with the CA) and its token keys."""
    return [f"tls-{tls_name}:{TLS_DIR}:ro"] + [f"tokens-{k}:{KEYS_DIR}/{k}:ro" for k in keys]


def secrets_of(svc: Service) -> list[str]:
    """The secret settings this service declares (only these reach its processes)."""
    return sorted({s.env for s in svc.settings if s.secret})


def check_coverage(services: list[Service], shared: dict) -> None:
    """Fail when a service requires a setting the deployment does not provide."""
    problems = []
    for svc in services:
        for s in svc.settings:
            name = s.env if s.shared else f"{svc.name.upper()}_{s.env}"
            provided = name in shared or name in SECRETS or name in process_env(svc, "api")
            if s.secret and s.env not in SECRETS:
                problems.append(f"{svc.name}: secret setting {name} has no entry in SECRETS")
            elif s.required and not provided:
                problems.append(f"{svc.name}: required setting {name} is not provided")
    for s in GATEWAY_SETTINGS():
        if s.required and s.env not in shared:
            problems.append(f"gateway: required setting {s.env} is not provided")
    if problems:
        raise SystemExit("deploy/generate.py: add these to the generator:\n  " + "\n  ".join(problems))
