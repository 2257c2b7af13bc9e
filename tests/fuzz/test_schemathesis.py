"""Schemathesis against the live gateway: generated requests for every operation of the OpenAPI
document, sent with an authenticated user's token. No answer may be a 5xx, and every answer must
conform to the document (status codes, content types, headers, response schemas).

`make test` runs a short pass (FUZZ_EXAMPLES, default 5 per operation, examples and fuzzing phases);
`make fuzz` a long one (thousands of cases, with the coverage and stateful phases).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.system import Api, sign_up, start_system

pytestmark = pytest.mark.e2e
CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_headers_conformance", "response_schema_conformance"])


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
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{fuzz_system.gateway_url()}/api/openapi.json",
           "--header", f"Authorization: Bearer {admin['tokens']['access_token']}",
           "--checks", CHECKS, "--max-examples", examples, "--generation-deterministic",
           "--suppress-health-check", "all", "--request-timeout", "10"]
    if os.environ.get("FUZZ_LONG") != "1":
        cmd += ["--phases", "examples,fuzzing"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    report.write_text(result.stdout + result.stderr)
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-80:])
    assert result.returncode == 0, f"schemathesis found failures (full report: {report}):\n{tail}"
