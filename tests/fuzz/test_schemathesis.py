"""Schemathesis against the live gateway: generated requests for every operation of the OpenAPI
document, sent with an authenticated user's token, under every check schemathesis has (`--checks all`):
no 5xx; statuses, content types, headers and bodies as documented; schema-valid requests accepted
(hooks.py says which data-dependent refusals are allowed); schema-violating ones refused; `Allow` on
405 and OPTIONS. Then the gateway's log: every error code answered is one the document declares for its
operation and status.

`make test` runs a short pass (FUZZ_EXAMPLES, default 5 per operation, examples, coverage and fuzzing
phases); `make fuzz` a long one (FUZZ_EXAMPLES=100, with the stateful phase too).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from tests.support.system import Api, sign_up, start_system, undeclared_errors

pytestmark = pytest.mark.e2e
HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def fuzz_system(tmp_path_factory):
    system = start_system(tmp_path_factory.mktemp("fuzz"), extra_env={
        "GATEWAY_COMPANY_PER_MINUTE": "1000000", "GATEWAY_LOGIN_PER_ACCOUNT_PER_MINUTE": "1000000",
        "GATEWAY_FORGOT_PER_ACCOUNT_PER_MINUTE": "1000000"})
    yield system
    system.stop_all()


def test_no_generated_request_breaks_the_api(fuzz_system, tmp_path):
    api = Api(fuzz_system.gateway_url())
    admin = sign_up(api)
    examples = os.environ.get("FUZZ_EXAMPLES", "5")
    report = tmp_path / "schemathesis.txt"
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml"), "run",
           f"{fuzz_system.gateway_url()}/api/openapi.json",
           "--header", f"Authorization: Bearer {admin['tokens']['access_token']}",
           "--checks", "all", "--max-examples", examples, "--generation-deterministic",
           "--suppress-health-check", "all", "--request-timeout", "10"]
    cmd += ["--phases", "examples,coverage,fuzzing,stateful" if os.environ.get("FUZZ_LONG") == "1"
            else "examples,coverage,fuzzing"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3000,
                            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"})
    report.write_text(result.stdout + result.stderr)
    output = result.stdout + result.stderr
    start = output.find("FAILURES")
    failures = output[start:start + 15000] if start >= 0 else "\n".join(output.splitlines()[-80:])
    assert result.returncode == 0, f"schemathesis found failures (full report: {report}):\n{failures}"
    undeclared = undeclared_errors(fuzz_system.log_dir / "gateway.log")
    assert not undeclared, f"answers the OpenAPI document does not declare: {undeclared}"
