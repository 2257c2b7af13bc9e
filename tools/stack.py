"""Start the whole system on 127.0.0.1, the same way for `make run` and for the end-to-end tests.

The processes are the lines of the Procfile (so `honcho start` runs the same thing). Their
configuration for `make run`: each setting from the environment first, then from `.env` if the
operator keeps one, then the development default built here (`environment`); `make run` prints the
values that are not defaults, secrets masked. `tools/stack.py env` writes the defaults to `.env`
for honcho. The end-to-end tests pass their own values to `Stack` (those win over the environment).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASE_PORTS = {"gateway": 8080, "broker": 9092, "smtp": 1025, "click": 8090,
              "identity": 50051, "pipeline": 50052, "records": 50053, "automation": 50054, "billing": 50055,
              # HTTP /healthz /readyz /metrics of each service process
              "identity_health": 51051, "pipeline_health": 51052, "records_health": 51053,
              "automation_health": 51054, "billing_health": 51055}


def free_ports(names=BASE_PORTS) -> dict[str, int]:
    """Distinct unused TCP ports on 127.0.0.1, one per name, for the processes of one system.

    Every socket stays bound until all are chosen: asked one at a time (bind to port 0, close), the
    kernel may hand the same port out twice, and a fault test once got one port for the gateway and
    the mail catcher."""
    import socket

    socks: list[socket.socket] = []
    try:
        for _ in names:
            socks.append(socket.socket())
            socks[-1].bind(("127.0.0.1", 0))
        return {name: sock.getsockname()[1] for name, sock in zip(names, socks)}
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    """One unused TCP port on 127.0.0.1 (for a single server; a system's ports: `free_ports`)."""
    return free_ports(["port"])["port"]


def procfile(path: pathlib.Path = ROOT / "Procfile") -> dict[str, str]:
    """Read `name: command` lines."""
    procs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, cmd = line.partition(":")
            procs[name.strip()] = cmd.strip()
    return procs


# The services are the Procfile processes that have a folder under services/.
SERVICES = tuple(n for n in procfile() if (ROOT / "services" / n).is_dir())


def ensure_keys(var: pathlib.Path) -> dict[str, str]:
    """Create the token key pairs on first start; return their paths as settings."""
    sys.path.insert(0, str(ROOT / "services" / "platform" / "src"))
    from crm_platform.auth import generate_keypair

    keys = var / "keys"
    for name in ("access", "service"):
        if not (keys / f"{name}.pem").exists():
            generate_keypair(keys / f"{name}.pem", keys / f"{name}.pub")
    return {"AUTH_PRIVATE_KEY": str(keys / "access.pem"), "AUTH_PUBLIC_KEY": str(keys / "access.pub"),
            "SERVICE_TOKEN_PRIVATE_KEY": str(keys / "service.pem"),
            "SERVICE_TOKEN_PUBLIC_KEY": str(keys / "service.pub")}


def environment(var: pathlib.Path, ports: dict[str, int] | None = None, database_urls: dict[str, str] | None = None,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    """The configuration of every process: SQLite files under `var`, everything on 127.0.0.1."""
    ports = {**BASE_PORTS, **(ports or {})}
    var = var.resolve()
    env = {
        "VAR_DIR": str(var),
        # development: the dev CLICK secret and a gateway without Redis are allowed (refused otherwise)
        "CRM_ENV": "development",
        "BROKER_PORT": str(ports["broker"]),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['broker']}",
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(ports["smtp"]), "MAIL_DIR": str(var / "mail"),
        "PUBLIC_URL": f"http://127.0.0.1:{ports['gateway']}",
        "GATEWAY_BIND": f"127.0.0.1:{ports['gateway']}",
        "PROMETHEUS_MULTIPROC_DIR": str(var / "metrics"),
        "PYTHONUNBUFFERED": "1",
        # as in the Dockerfile: big blocks (argon2's 19 MiB) mapped and given back, no idle arenas
        "MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072",
        # CLICK (billing and the local CLICK simulator read the same names; dev values only).
        "CLICK_SERVICE_ID": "12345", "CLICK_MERCHANT_ID": "54321", "CLICK_MERCHANT_USER_ID": "777",
        "CLICK_SECRET_KEY": "dev-click-secret",
        "CLICK_PAY_URL": f"http://127.0.0.1:{ports['click']}/services/pay",
        "CLICK_API_URL": f"http://127.0.0.1:{ports['click']}/v2/merchant",
        "CLICK_SIMULATOR_PORT": str(ports["click"]),
        "CLICK_CALLBACK_BASE": f"http://127.0.0.1:{ports['gateway']}/api/v1/payments/click",
        "BILLING_PRICE_PER_SEAT_MONTH_UZS": "50000", "BILLING_TRIAL_DAYS": "14",
        **ensure_keys(var),
    }
    for svc in SERVICES:
        up = svc.upper()
        env[f"{up}_GRPC_BIND"] = f"127.0.0.1:{ports[svc]}"
        env[f"{up}_GRPC_ADDR"] = f"127.0.0.1:{ports[svc]}"
        env[f"{up}_HEALTH_PORT"] = str(ports.get(f"{svc}_health", 0))
        env[f"{up}_DATABASE_URL"] = (database_urls or {}).get(svc, f"sqlite:///{var / (svc + '.db')}")
    env.update(extra or {})
    return env


class Stack:
    """The running processes of one system."""

    def __init__(self, env: dict[str, str], log_dir: pathlib.Path | None = None):
        self.env = {**os.environ, **env}
        self.procs = procfile()
        self.running: dict[str, subprocess.Popen] = {}
        self.log_dir = log_dir
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
        pathlib.Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

    def start(self, name: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start one Procfile process in its own process group (with `extra_env` on top, if given)."""
        cmd = self.procs[name]
        env = {**self.env, **(extra_env or {})}
        if self.log_dir:
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
            proc = subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        else:
            proc = subprocess.Popen(["bash", "-c", f"exec {cmd}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()
        self.running[name] = proc
        return proc

    @staticmethod
    def _pump(name: str, proc: subprocess.Popen) -> None:
        for line in iter(proc.stdout.readline, b""):
            sys.stdout.write(f"{name:>10} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    def start_replica(self, name: str, replica: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start one more copy of Procfile process `name` under the key `replica` (like `honcho -c name=2`).

        The copy shares the gRPC port (SO_REUSEPORT) but gets no health port of its own.
        """
        self.procs[replica] = self.procs[name]
        return self.start(replica, {f"{name.upper()}_HEALTH_PORT": "0", **(extra_env or {})})

    def start_all(self) -> None:
        for name in self.procs:
            self.start(name)

    def signal(self, name: str, sig: int) -> None:
        proc = self.running.get(name)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, sig)

    def stop(self, name: str, timeout: float = 15) -> None:
        """SIGTERM one process and wait for it (SIGKILL after `timeout`)."""
        proc = self.running.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def kill(self, name: str) -> None:
        """SIGKILL one process (a crash)."""
        proc = self.running.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        """SIGTERM every process at once, then wait: stopping takes the slowest one, not the sum."""
        for name in list(self.running):
            self.signal(name, signal.SIGTERM)
        for name in reversed(list(self.running)):
            self.stop(name)

    def gateway_url(self) -> str:
        return "http://" + self.env["GATEWAY_BIND"]

    def wait_ready(self, timeout: float = 60) -> float:
        """Wait until the gateway's /readyz says every service is serving; return the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            for name, proc in self.running.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"process {name} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(self.gateway_url() + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"system not ready after {timeout}s")


def write_dotenv(env: dict[str, str], path: pathlib.Path = ROOT / ".env") -> None:
    """Write the configuration for `honcho start` (kept if it already exists)."""
    if not path.exists():
        path.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(env.items())))


def read_dotenv(path: pathlib.Path = ROOT / ".env") -> dict[str, str]:
    """`KEY=value` lines (shell quoting, `export ` and comments allowed); {} when there is no file."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.removeprefix("export ").partition("=")
        words = shlex.split(raw, comments=True)
        values[key.strip()] = words[0] if words else ""
    return values


def operator_environment(defaults: dict[str, str], environ: dict[str, str] | None = None,
                         dotenv: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The settings of `make run`: the environment first, then `.env`, then the defaults. Returns them
    and those that are not the defaults (what the operator set)."""
    environ = dict(os.environ if environ is None else environ)
    dotenv = read_dotenv() if dotenv is None else dotenv
    env = {**defaults, **dotenv}
    env.update({k: v for k, v in environ.items() if k in env})
    return env, {k: v for k, v in env.items() if defaults.get(k) != v}


SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "PRIVATE")


def masked(key: str, value: str) -> str:
    """A setting as it may be printed: secrets hidden, and the password of a URL."""
    if any(word in key for word in SECRET_WORDS):
        return "****" if value else ""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(value)
    if parts.password:
        netloc = f"{parts.username}:****@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole CRM on 127.0.0.1")
    parser.add_argument("command", choices=["run", "env"])
    parser.add_argument("--var", default=os.environ.get("VAR_DIR") or str(ROOT / "var"))
    args = parser.parse_args()
    defaults = environment(pathlib.Path(args.var))
    if args.command == "env":
        write_dotenv(defaults)
        return
    env, chosen = operator_environment(defaults)
    for key in sorted(chosen):
        print(f"setting {key}={masked(key, chosen[key])}", flush=True)
    stack = Stack(env)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    started = time.monotonic()
    stack.start_all()
    try:
        threading.Thread(target=lambda: _announce(stack, started), daemon=True).start()
        while not stopping.is_set():
            for name, proc in list(stack.running.items()):
                if proc.poll() is not None:
                    print(f"*** {name} exited with {proc.returncode}; stopping everything", flush=True)
                    stopping.set()
            stopping.wait(0.5)
    finally:
        print("stopping…", flush=True)
        stack.stop_all()


def _announce(stack: Stack, started: float) -> None:
    try:
        stack.wait_ready(120)
    except (TimeoutError, RuntimeError) as exc:
        print(f"*** not ready: {exc}", flush=True)
        return
    env = stack.env
    print(f"""
==============================================================================
 CRM is ready in {time.monotonic() - started:.1f} s
   Web API          {stack.gateway_url()}/api/v1/   (docs: {stack.gateway_url()}/api/docs)
   Health           {stack.gateway_url()}/readyz
   Outgoing e-mail  {env['MAIL_DIR']}/*.eml  (SMTP 127.0.0.1:{env['SMTP_PORT']})
   Broker           {env['KAFKA_BOOTSTRAP_SERVERS']}
   Data             {env['VAR_DIR']}
 Ctrl-C stops everything.
==============================================================================""", flush=True)


if __name__ == "__main__":
    main()
