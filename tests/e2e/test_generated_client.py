"""A Python client generated from the served OpenAPI document by openapi-python-client 0.29 (the tool
lives in .tools/openapi, made by `make venv`): generation gives no warning, and the client walks
sign-up -> funnel edit -> deal -> card -> list against the running system."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import requests

from tests.support.infra import ROOT
from tests.support.system import start_system

pytestmark = pytest.mark.e2e
TOOLS = ROOT / ".tools" / "openapi" / "bin"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    started = start_system(tmp_path_factory.mktemp("generated-client"))
    yield started
    started.stop_all()


def test_a_generated_client_walks_from_sign_up_to_the_deal_list(system, tmp_path):
    assert (TOOLS / "openapi-python-client").exists(), "run `make venv` (it makes .tools/openapi)"
    document = tmp_path / "openapi.json"
    document.write_bytes(requests.get(system.gateway_url() + "/api/openapi.json", timeout=10).content)
    env = {**os.environ, "PATH": f"{TOOLS}:{os.environ['PATH']}"}  # it formats the code with its ruff
    generated = subprocess.run(
        [TOOLS / "openapi-python-client", "generate", "--path", document, "--meta", "none",
         "--output-path", tmp_path / "crm_api_client"], capture_output=True, text=True, env=env, timeout=300)
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert output.strip() == f"Generating {tmp_path / 'crm_api_client'}", f"generation warned:\n{output}"

    walked = subprocess.run([TOOLS / "python", ROOT / "tests" / "e2e" / "generated_client_walk.py",
                             system.gateway_url()], capture_output=True, text=True, timeout=120,
                            env={**env, "PYTHONPATH": str(tmp_path)})
    assert walked.returncode == 0, walked.stdout + walked.stderr
    seen = json.loads(walked.stdout.strip().splitlines()[-1])
    assert seen["funnel_version"][1] == seen["funnel_version"][0] + 1
    assert seen["stage"] == seen["card_stage"] == "Negotiation"
    assert seen["amount"] == "15000000.50"
    assert seen["card_responsible"] == seen["admin"]  # the creator is the deal's responsible
    assert seen["listed"] == [seen["deal"]]
