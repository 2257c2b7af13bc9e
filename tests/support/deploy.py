"""What the deployment tests share: the generator (deploy/generate.py, loaded by path: deploy/ is not a
package) and the tools in their own virtualenvs made by `make venv` (.tools/compose, .tools/k8s)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / ".tools" / "compose" / "bin" / "docker-compose"
COMPOSE_PY = ROOT / ".tools" / "compose" / "bin" / "python"
K8S_PY = ROOT / ".tools" / "k8s" / "bin" / "python"

_spec = importlib.util.spec_from_file_location("deploy_generate", ROOT / "deploy" / "generate.py")
gen = importlib.util.module_from_spec(_spec)
sys.modules["deploy_generate"] = gen
_spec.loader.exec_module(gen)


def tool(path: pathlib.Path) -> str:
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run `make venv` (it installs the deploy tools)"
    return str(path)
