"""Every process type runs with exactly the token keys the deployment gives it (`deploy/generate.py`:
`SIGNERS`, `process_secrets`, `token_keys`): real processes on 127.0.0.1, each started with only its own
keys (`none` for a private key its service's settings name but this process never signs with, no public
keys where it serves no gRPC), must come up live. A gRPC server without the public key refuses to start.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support.infra import ROOT, free_port

_spec = importlib.util.spec_from_file_location("deploy_generate_keys", ROOT / "deploy" / "generate.py")
gen = importlib.util.module_from_spec(_spec)
sys.modules["deploy_generate_keys"] = gen
_spec.loader.exec_module(gen)

PRIVATE = {"AUTH_PRIVATE_KEY": "access_private", "SERVICE_TOKEN_PRIVATE_KEY": "service_private"}
DEV_VALUES = {"CLICK_SERVICE_ID": "1", "CLICK_MERCHANT_ID": "2", "CLICK_MERCHANT_USER_ID": "3",
              "CLICK_SECRET_KEY": "dev-click-secret"}


def _alive(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status == 200 and json.loads(resp.read())["status"] == "ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _env(svc, role: str, keys: dict, tmp_path) -> dict:
    up = svc.name.upper()
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_KEY", "_GRPC_ADDR", "_DATABASE_URL", "_GRPC_BIND", "_HEALTH_PORT"))}
    env.update({f"{up}_DATABASE_URL": f"sqlite:///{tmp_path / f'{svc.name}-{role}.db'}",
                f"{up}_GRPC_BIND": f"127.0.0.1:{free_port()}", f"{up}_HEALTH_PORT": str(free_port()),
                "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}", "CRM_ENV": "development",
                **{f"{s.name.upper()}_GRPC_ADDR": "127.0.0.1:1" for s in gen.discover_services()}, **DEV_VALUES})
    for name, value in gen.process_secrets(svc, role).items():
        if name in PRIVATE:
            env[name] = value or keys[PRIVATE[name]]
    if "public" in gen.token_keys(svc, role):
        env.update({"AUTH_PUBLIC_KEY": keys["access_public"], "SERVICE_TOKEN_PUBLIC_KEY": keys["service_public"]})
    return env


def test_every_process_type_starts_with_only_the_keys_it_is_given(keys, tmp_path):
    procs = []
    try:
        for svc in gen.discover_services():
            for role in svc.roles:
                env = _env(svc, role, keys, tmp_path)
                log = open(tmp_path / f"{svc.process(role)}.log", "wb")
                procs.append((svc.process(role), int(env[f"{svc.name.upper()}_HEALTH_PORT"]), log, subprocess.Popen(
                    [sys.executable, "-m", svc.module, role], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)))
        deadline, pending = time.monotonic() + 120, {name for name, *_ in procs}
        while pending and time.monotonic() < deadline:
            for name, port, _, proc in procs:
                if name in pending and (proc.poll() is not None or _alive(port)):
                    pending.discard(name)
            time.sleep(0.3)
        failed = {name: (tmp_path / f"{name}.log").read_text()[-800:] for name, port, _, proc in procs
                  if proc.poll() is not None or not _alive(port)}
        assert not failed, failed
    finally:
        for _, _, log, proc in procs:
            proc.terminate()
        for _, _, log, proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            log.close()
    # what the processes were given: the identity relay and mailer no key at all
    for svc in gen.discover_services():
        if svc.name == "identity":
            for role in ("relay", "mailer"):
                assert {k: v for k, v in gen.process_secrets(svc, role).items() if k in PRIVATE} == {
                    "AUTH_PRIVATE_KEY": gen.NO_KEY}
                assert gen.token_keys(svc, role) == []


def test_a_grpc_server_without_the_public_key_refuses_to_start(keys, tmp_path):
    [svc] = [s for s in gen.discover_services() if s.name == "pipeline"]
    env = _env(svc, "api", keys, tmp_path)
    env.pop("AUTH_PUBLIC_KEY")
    out = subprocess.run([sys.executable, "-m", "crm_pipeline", "api"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "AUTH_PUBLIC_KEY is required by a process that serves gRPC" in out.stderr


def test_a_signer_without_a_key_refuses_to_sign():
    from crm_platform.auth import NO_KEY, TokenSigner, read_key

    with pytest.raises(RuntimeError, match="holds no token signing key"):
        TokenSigner(read_key(NO_KEY)).sign_service(caller="automation", callee="records", company_id="c", user_id="u")
