"""Fixtures of the deployment tests (tests/test_deploy*.py): docker-compose's and kustomize's own views of
the generated files, rendered once a session."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.deploy import COMPOSE, COMPOSE_PY, K8S_PY, ROOT, tool


@pytest.fixture(scope="session")
def compose_config() -> dict:
    """docker-compose's own resolved view of docker-compose.yml (env_file merged, paths resolved)."""
    out = subprocess.run([tool(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    as_json = subprocess.run([tool(COMPOSE_PY), "-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), "
                              "sys.stdout)"], input=out.stdout, capture_output=True, text=True, check=True)
    return json.loads(as_json.stdout)


@pytest.fixture(scope="session")
def k8s() -> dict:
    """Rendered base and overlays, each resource validated (deploy/check.py)."""
    out = subprocess.run([tool(K8S_PY), str(ROOT / "deploy" / "check.py")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"invalid manifests:\n{out.stderr}"
    return json.loads(out.stdout)
