"""The protos: generated code is up to date, and buf's STANDARD lint passes."""

from __future__ import annotations

import filecmp
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUF = ROOT / ".tools" / "node_modules" / ".bin" / "buf"


def _diff(a: pathlib.Path, b: pathlib.Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__", "pyproject.toml", "crm_protos.egg-info"])
    out = [str(pathlib.Path(a) / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    for sub in cmp.common_dirs:
        out += _diff(a / sub, b / sub)
    return out


def test_generated_code_is_fresh(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "protos" / "generate.py"), str(tmp_path)], check=True)
    stale = _diff(ROOT / "protos" / "gen" / "python" / "crm", tmp_path / "crm")
    assert not stale, f"generated code is stale, run `make protos`: {stale}"


def test_buf_lint_standard():
    buf = str(BUF) if BUF.exists() else shutil.which("buf")
    assert buf, "buf is missing: `make venv` installs it"
    result = subprocess.run([buf, "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
